"""Pure Plotly figure builders for IvyBT (no Streamlit calls): tested on their figure data.

Every builder takes plain pandas objects and returns a `go.Figure`. Colours and layout come from
engine.figures.style, so the strategy, the benchmark, gains and losses look the same on every page, in the HTML
report and in batch artifacts; the equity figure itself is engine.figures.equity's (a batch artifact draws it too).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.figures.equity import equity_figure as equity_figure  # the app's Equity chart is the engine's
from engine.figures.style import BENCHMARK, GAIN, LOSS, NEUTRAL, STRATEGY
from engine.figures.style import CONTROL_ROW as CONTROL_ROW
from engine.figures.style import GRID as GRID
from engine.figures.style import TITLE_ROW as TITLE_ROW
from engine.figures.style import layout as _layout
from engine.figures.style import range_controls as _range_controls
from ui import analytics

PALETTE: tuple[str, ...] = (
    "#2563eb",
    "#f59e0b",
    "#10b981",
    "#ef4444",
    "#8b5cf6",
    "#06b6d4",
    "#ec4899",
    "#84cc16",
    "#f97316",
    "#14b8a6",
    "#a855f7",
    "#64748b",
)


def color_for(i: int) -> str:
    """The i-th colour of the shared palette (cycles)."""
    return PALETTE[i % len(PALETTE)]


def _side_legend(fig: go.Figure) -> None:
    """A vertical legend right of the plot, for figures with one entry per run (any number of them)."""
    fig.update_layout(legend=dict(orientation="v", x=1.01, xanchor="left", y=1, yanchor="top"))


def drawdown_figure(equity: pd.Series, benchmark: pd.Series | None = None) -> go.Figure:
    """Underwater chart: percent below the running peak for the strategy (filled) and the benchmark (line)."""
    dd = analytics.drawdown(equity)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=dd.index,
            y=dd.to_numpy(),
            name="Strategy",
            mode="lines",
            fill="tozeroy",
            line=dict(color=LOSS, width=1),
            fillcolor="rgba(220,38,38,0.25)",
            hovertemplate="%{y:.1%}",
        )
    )
    if benchmark is not None and not benchmark.empty:
        bdd = analytics.drawdown(benchmark)
        fig.add_trace(
            go.Scatter(
                x=bdd.index,
                y=bdd.to_numpy(),
                name="Benchmark",
                mode="lines",
                line=dict(color=BENCHMARK, width=1),
                hovertemplate="%{y:.1%}",
            )
        )
    _layout(fig, "Drawdown (underwater)", height=320)
    fig.update_yaxes(tickformat=".0%", title_text="below peak")
    return fig


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_heatmap_figure(returns: pd.Series) -> go.Figure:
    """Heatmap of compounded monthly returns (rows = years, columns = months); red losses, green gains."""
    table = analytics.monthly_returns(returns)
    z = table.to_numpy(dtype="float64")
    limit = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.1
    text = [[("" if np.isnan(v) else f"{v:.1%}") for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(MONTHS),
            y=[str(y) for y in table.index],
            colorscale=[[0, LOSS], [0.5, "#f5f5f5"], [1, GAIN]],
            zmin=-limit,
            zmax=limit,
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
            colorbar=dict(tickformat=".0%"),
        )
    )
    _layout(fig, "Monthly returns", height=max(260, 26 * len(table) + 90), hovermode="closest")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def yearly_returns_figure(returns: pd.Series, benchmark_returns: pd.Series | None = None) -> go.Figure:
    """Bars of compounded calendar-year returns, strategy beside the benchmark."""
    fig = go.Figure()
    yr = analytics.yearly_returns(returns)
    fig.add_trace(
        go.Bar(
            x=[str(y) for y in yr.index],
            y=yr.to_numpy(),
            name="Strategy",
            marker_color=STRATEGY,
            hovertemplate="%{y:.1%}",
        )
    )
    if benchmark_returns is not None and not benchmark_returns.empty:
        by = analytics.yearly_returns(benchmark_returns)
        fig.add_trace(
            go.Bar(
                x=[str(y) for y in by.index],
                y=by.to_numpy(),
                name="Benchmark",
                marker_color=BENCHMARK,
                hovertemplate="%{y:.1%}",
            )
        )
    _layout(fig, "Yearly returns", height=340)
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category")
    return fig


def rolling_figure(
    returns: pd.Series,
    window: int = 126,
    periods_per_year: float = 252.0,
    benchmark_returns: pd.Series | None = None,
) -> go.Figure:
    """Rolling annualized Sharpe (top) and volatility (bottom) over `window` bars, strategy and benchmark."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(f"Rolling Sharpe ({window} bars)", f"Rolling volatility ({window} bars)"),
    )
    series = [("Strategy", returns, STRATEGY)]
    if benchmark_returns is not None and not benchmark_returns.empty:
        series.append(("Benchmark", benchmark_returns, BENCHMARK))
    for name, r, color in series:
        fig.add_trace(
            go.Scatter(
                x=r.index,
                y=analytics.rolling_sharpe(r, window, periods_per_year).to_numpy(),
                name=name,
                legendgroup=name,
                mode="lines",
                line=dict(color=color, width=1.5),
                hovertemplate="%{y:.2f}",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=r.index,
                y=analytics.rolling_volatility(r, window, periods_per_year).to_numpy(),
                name=name,
                legendgroup=name,
                showlegend=False,
                mode="lines",
                line=dict(color=color, width=1.5),
                hovertemplate="%{y:.1%}",
            ),
            row=2,
            col=1,
        )
    _layout(fig, None, height=520)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    return fig


def weights_figure(weights: pd.DataFrame) -> go.Figure:
    """Target weight per symbol over time (stacked areas, long above zero, short below) and gross exposure."""
    fig = go.Figure()
    w = weights.astype("float64").fillna(0.0)
    for i, sym in enumerate(w.columns):
        fig.add_trace(
            go.Scatter(
                x=w.index,
                y=w[sym].to_numpy(),
                name=str(sym),
                mode="lines",
                stackgroup="w",
                line=dict(width=0.5, color=color_for(i)),
                hovertemplate="%{y:.1%}",
            )
        )
    gross = analytics.exposure(w)["gross"]
    fig.add_trace(
        go.Scatter(
            x=gross.index,
            y=gross.to_numpy(),
            name="gross exposure",
            mode="lines",
            line=dict(color=NEUTRAL, width=1, dash="dot"),
            hovertemplate="%{y:.1%}",
        )
    )
    _layout(fig, "Weights and exposure", height=380)
    fig.update_yaxes(tickformat=".0%", title_text="fraction of equity")
    return fig


def contribution_figure(contribution: pd.Series) -> go.Figure:
    """Horizontal bars of profit and loss per symbol (account currency), gains green, losses red."""
    c = contribution.astype("float64").sort_values()
    fig = go.Figure(
        go.Bar(
            x=c.to_numpy(),
            y=[str(s) for s in c.index],
            orientation="h",
            marker_color=np.where(c.to_numpy() >= 0, GAIN, LOSS),
            hovertemplate="%{x:,.0f}<extra></extra>",
        )
    )
    _layout(fig, "Contribution per symbol (P&L)", height=max(240, 28 * len(c) + 90), hovermode="closest")
    fig.update_xaxes(tickformat=",.0f")
    return fig


def correlation_figure(corr: pd.DataFrame) -> go.Figure:
    """Heatmap of a correlation matrix (-1 blue .. +1 red), values printed in the cells."""
    labels = [str(c) for c in corr.columns]
    z = corr.to_numpy(dtype="float64")
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            text=np.round(z, 2),
            texttemplate="%{text}",
            hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>",
        )
    )
    _layout(fig, "Correlation of daily returns", height=max(300, 40 * len(labels) + 120), hovermode="closest")
    fig.update_yaxes(autorange="reversed")
    return fig


def compare_equity_figure(curves: Mapping[str, pd.Series], log: bool = False) -> go.Figure:
    """Several equity curves rebased to 1.0 at their first bar, overlaid (one colour per run)."""
    fig = go.Figure()
    for i, (name, eq) in enumerate(curves.items()):
        eq = eq.dropna()
        if eq.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=eq.index,
                y=(eq / eq.iloc[0]).to_numpy(),
                name=str(name),
                mode="lines",
                line=dict(color=color_for(i), width=1.5),
                hovertemplate="%{y:.3f}",
            )
        )
    _layout(fig, "Equity (rebased to 1)", height=440)
    _range_controls(fig)
    _side_legend(fig)
    fig.update_yaxes(type="log" if log else "linear")
    return fig


def compare_drawdown_figure(curves: Mapping[str, pd.Series]) -> go.Figure:
    """Underwater curves of several runs overlaid."""
    fig = go.Figure()
    for i, (name, eq) in enumerate(curves.items()):
        dd = analytics.drawdown(eq.dropna())
        fig.add_trace(
            go.Scatter(
                x=dd.index,
                y=dd.to_numpy(),
                name=str(name),
                mode="lines",
                line=dict(color=color_for(i), width=1),
                hovertemplate="%{y:.1%}",
            )
        )
    _layout(fig, "Drawdowns", height=320)
    _side_legend(fig)
    fig.update_yaxes(tickformat=".0%")
    return fig

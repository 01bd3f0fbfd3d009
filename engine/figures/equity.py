"""The equity figure: one builder for the app's Equity chart and a batch job's HTML artifact."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.figures.style import BENCHMARK, LOSS, STRATEGY, layout, range_controls
from engine.metrics import drawdown as drawdown_of


def equity_figure(
    equity: pd.Series,
    benchmark: pd.Series | None = None,
    log: bool = False,
    name: str = "Strategy",
    benchmark_name: str = "Benchmark",
    title: str = "Equity",
    drawdown: bool = False,
) -> go.Figure:
    """Equity curve (account currency, marked at each close) against the benchmark's buy-and-hold equity.

    A range slider and range buttons sit under the x axis; `log` switches the y axis to log scale. With
    `drawdown`, a second panel below shows the strategy's underwater curve (fraction below the running peak),
    as a batch job's artifact does; the app draws its drawdown chart separately.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3]) if drawdown else go.Figure()
    at = dict(row=1, col=1) if drawdown else {}
    fig.add_trace(_curve(equity, name, STRATEGY, 2), **at)
    if benchmark is not None and not benchmark.empty:
        fig.add_trace(_curve(benchmark, benchmark_name, BENCHMARK, 1.5), **at)
    if drawdown:
        fig.add_trace(
            go.Scatter(
                x=equity.index,
                y=drawdown_of(equity.to_numpy(dtype="float64")),
                name="Drawdown",
                mode="lines",
                fill="tozeroy",
                line=dict(color=LOSS, width=1),
                fillcolor="rgba(220,38,38,0.25)",
                hovertemplate="%{y:.1%}",
            ),
            row=2,
            col=1,
        )
        fig.update_yaxes(tickformat=".0%", title_text="below peak", row=2, col=1)
    layout(fig, title, height=620 if drawdown else 460)
    range_controls(fig, panels=2 if drawdown else 1)
    fig.update_yaxes(
        type="log" if log else "linear", title_text="equity", tickformat=",.0f", row=1 if drawdown else None
    )
    return fig


def _curve(curve: pd.Series, name: str, color: str, width: float) -> go.Scatter:
    """One equity line (currency on hover)."""
    return go.Scatter(
        x=curve.index,
        y=curve.to_numpy(),
        name=name,
        mode="lines",
        line=dict(color=color, width=width),
        hovertemplate="%{y:,.0f}",
    )

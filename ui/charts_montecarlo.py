"""Pure Plotly builders for Monte Carlo results (no Streamlit calls): the fan of simulated equity paths with
its percentile bands, and the distributions of final equity and max drawdown across simulations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ui.charts import BENCHMARK, LOSS, STRATEGY, _layout, color_for

PERCENTILES = (5, 25, 50, 75, 95)
#: The fan chart's x-axis title per kind of step (MonteCarloResult.summary["step_unit"]).
STEP_AXIS = {"trade": "trades", "bar": "bars (trading days for daily data)"}
#: Vertical distance between two labelled lines' labels, as a fraction of the plot height.
LABEL_STEP = 0.09


# -------------------------------------------------------------------------------------------- Monte Carlo
def path_distributions(paths: np.ndarray) -> pd.DataFrame:
    """Per simulated path: final equity and max drawdown (fraction below the running peak, <= 0)."""
    p = np.asarray(paths, dtype="float64")
    peak = np.maximum.accumulate(p, axis=1)
    dd = (p / peak - 1.0).min(axis=1)
    return pd.DataFrame({"final_equity": p[:, -1], "max_drawdown": dd})


def fan_bands(paths: np.ndarray, percentiles: Sequence[float] = PERCENTILES) -> pd.DataFrame:
    """Percentiles of equity across simulations at every step (rows = steps, columns = percentiles)."""
    p = np.asarray(paths, dtype="float64")
    return pd.DataFrame(np.percentile(p, list(percentiles), axis=0).T, columns=list(percentiles))


def montecarlo_fan_figure(
    paths: np.ndarray,
    original: Sequence[float] | None = None,
    percentiles: Sequence[float] = PERCENTILES,
    sample_paths: int = 0,
    seed: int = 0,
    step_unit: str | None = None,
) -> go.Figure:
    """Fan chart: the outer and inner percentile bands of simulated equity per step, the median, and
    optionally the original equity and a few sample paths. x = the number of steps taken: trades or bars
    (`step_unit` "trade" or "bar", from the result's summary); "trades or bars" when not given."""
    bands = fan_bands(paths, percentiles)
    steps = np.arange(len(bands))
    q = list(bands.columns)
    fig = go.Figure()
    if sample_paths:
        rng = np.random.default_rng(seed)
        for i in rng.choice(len(paths), size=min(sample_paths, len(paths)), replace=False):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=np.asarray(paths[i]),
                    mode="lines",
                    showlegend=False,
                    line=dict(color="rgba(107,114,128,0.25)", width=0.7),
                    hoverinfo="skip",
                )
            )
    pairs = [(q[i], q[-1 - i]) for i in range(len(q) // 2)]
    for depth, (lo, hi) in enumerate(pairs):
        alpha = 0.15 + 0.15 * depth
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=bands[hi].to_numpy(),
                mode="lines",
                line=dict(width=0),
                name=f"p{hi:g}",
                legendgroup=f"b{depth}",
                showlegend=False,
                hovertemplate=f"p{hi:g}: %{{y:,.0f}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=bands[lo].to_numpy(),
                mode="lines",
                line=dict(width=0),
                fill="tonexty",
                fillcolor=f"rgba(37,99,235,{alpha:.2f})",
                name=f"p{lo:g}-p{hi:g}",
                legendgroup=f"b{depth}",
                hovertemplate=f"p{lo:g}: %{{y:,.0f}}<extra></extra>",
            )
        )
    if len(q) % 2:
        mid = q[len(q) // 2]
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=bands[mid].to_numpy(),
                mode="lines",
                name=f"median (p{mid:g})",
                line=dict(color=STRATEGY, width=2),
                hovertemplate="%{y:,.0f}",
            )
        )
    if original is not None:
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(original)),
                y=np.asarray(original, dtype="float64"),
                mode="lines",
                name="original",
                line=dict(color=BENCHMARK, width=1.5, dash="dash"),
                hovertemplate="%{y:,.0f}",
            )
        )
    _layout(fig, f"Monte Carlo equity: {len(paths):,} simulations", height=440)
    fig.update_xaxes(title_text=STEP_AXIS.get(step_unit or "", "trades or bars"))
    fig.update_yaxes(title_text="equity", tickformat=",.0f")
    return fig


def distribution_figure(
    values: Sequence[float],
    title: str,
    x_title: str,
    percent: bool = False,
    marks: Mapping[str, float] | None = None,
    threshold: float | None = None,
    nbins: int = 50,
) -> go.Figure:
    """Histogram of one simulated quantity (final equity or max drawdown), with labelled vertical lines at
    `marks` (e.g. p5, median, original) and a red line at `threshold` (e.g. the loss limit). Each line's label
    sits on its own row at the top of the plot, so labels of lines close together do not overlap."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    fig = go.Figure(
        go.Histogram(
            x=v,
            nbinsx=nbins,
            marker_color=STRATEGY,
            opacity=0.8,
            name=x_title,
            hovertemplate=("%{x:.1%}" if percent else "%{x:,.0f}") + ": %{y}<extra></extra>",
        )
    )
    lines = [
        (label, x, color_for(i + 1), "dash") for i, (label, x) in enumerate((marks or {}).items()) if x is not None
    ]
    if threshold is not None:
        lines.append(("threshold", threshold, LOSS, "solid"))
    for row, (label, x, color, dash) in enumerate(lines):
        fig.add_vline(x=float(x), line=dict(color=color, width=2, dash=dash))
        fig.add_annotation(
            x=float(x),
            y=1.0 - LABEL_STEP * row,
            xref="x",
            yref="paper",
            text=label,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(color=color, size=11),
            bgcolor="rgba(255,255,255,0.75)",
        )
    _layout(fig, title, height=340, hovermode="closest")
    fig.update_xaxes(title_text=x_title, tickformat=".0%" if percent else ",.0f")
    fig.update_yaxes(title_text="simulations")
    fig.update_layout(showlegend=False, bargap=0.02)
    return fig

"""Pure Plotly builder of the Screener page (no Streamlit calls): the correlation heatmap of a watchlist, rows and
columns in hierarchical-clustering order (engine.research.screen_correlation), -1 .. +1 on a diverging scale."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from engine.figures.style import GAIN, LOSS
from engine.figures.style import layout as _layout
from engine.research.screen_correlation import ClusteredCorrelation

DIVERGING = [[0.0, LOSS], [0.5, "#f5f5f5"], [1.0, GAIN]]


def correlation_heatmap(result: ClusteredCorrelation, lookback: int) -> go.Figure:
    """The clustered correlation matrix: x and y in cluster order, cells with the correlation to 2 decimals."""
    values = result.corr.to_numpy(dtype=float)
    text = [["–" if np.isnan(v) else f"{v:.2f}" for v in row] for row in values]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=result.order,
            y=result.order,
            zmin=-1,
            zmax=1,
            colorscale=DIVERGING,
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} / %{x}: correlation %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "correlation"}},
        )
    )
    height = max(360, 40 + 28 * len(result.order))
    _layout(fig, f"Correlation of daily returns, last {lookback} bars (clustered order)", height, "closest")
    fig.update_yaxes(autorange="reversed")
    return fig

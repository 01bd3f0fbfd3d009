"""The shared look of every IvyBT figure: fixed colours (the strategy, the benchmark, gains and losses look the
same on every page, in the HTML report and in batch artifacts) and the layout rows above the plot.

Backgrounds are transparent; `themed` gives a figure the Plotly template of the viewer's theme (dark or light,
as Streamlit reports it), so text, axes and grid read well on either background.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

STRATEGY = "#2563eb"
BENCHMARK = "#f59e0b"
GAIN = "#16a34a"
LOSS = "#dc2626"
NEUTRAL = "#6b7280"
TRAILING = "#f97316"
GRID = "rgba(128,128,128,0.2)"
RANGE_BUTTONS = [
    dict(count=6, label="6m", step="month", stepmode="backward"),
    dict(count=1, label="1y", step="year", stepmode="backward"),
    dict(count=3, label="3y", step="year", stepmode="backward"),
    dict(count=5, label="5y", step="year", stepmode="backward"),
    dict(step="all", label="all"),
]
TITLE_ROW = 34  # px at the top: the title on the left, Plotly's mode bar on the right (shown on hover)
CONTROL_ROW = 30  # px under it, just above the plot: range buttons on the left, the legend on the right


def layout(fig: go.Figure, title: str | None = None, height: int = 420, hovermode: str = "x unified") -> go.Figure:
    """Shared look: transparent backgrounds, light grid, and a top margin of two rows so the mode bar (top
    right, on hover) never covers the legend and range buttons never crowd the title."""
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", xref="paper", y=1, yanchor="top", yref="container", pad=dict(t=8))
        if title
        else None,
        height=height,
        margin=dict(l=10, r=10, t=(TITLE_ROW if title else 14) + CONTROL_ROW, b=10),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode=hovermode,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig


THEMES = {"light": "plotly_white", "dark": "plotly_dark"}
"""Streamlit's theme type -> the Plotly template drawn with it."""
RANGE_BUTTON_COLORS = {
    "light": dict(bgcolor="#e5e7eb", activecolor="#93c5fd", font=dict(color="#111827")),
    "dark": dict(bgcolor="#374151", activecolor="#2563eb", font=dict(color="#f3f4f6")),
}
"""Range buttons readable on each theme (the templates leave them light grey, blank on a dark page)."""


def themed(fig: go.Figure, theme: str | None) -> go.Figure:
    """`fig` with the template of `theme` ("dark" or "light"; None leaves it as it is), backgrounds kept
    transparent so the page's own background shows through."""
    if theme is None:
        return fig
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {sorted(THEMES)}, got {theme!r}")
    fig.update_layout(template=THEMES[theme], paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    fig.for_each_xaxis(
        lambda axis: axis.update(rangeselector=RANGE_BUTTON_COLORS[theme]) if axis.rangeselector.buttons else None
    )
    return fig


def range_selector() -> dict[str, Any]:
    """Range buttons in the control row above the plot, on the left (the legend is on the right)."""
    return dict(buttons=RANGE_BUTTONS, x=0, xanchor="left", y=1.02, yanchor="bottom")


def range_controls(fig: go.Figure, panels: int = 1) -> None:
    """Range slider under the x axis, range buttons above the plot on the left, the legend on the right. In a
    figure of stacked panels sharing the x axis, the buttons go above the top panel and the slider under the
    bottom one."""
    slider = dict(visible=True, thickness=0.06)
    if panels == 1:
        fig.update_xaxes(rangeslider=slider, rangeselector=range_selector())
    else:
        fig.update_xaxes(rangeselector=range_selector(), row=1, col=1)
        fig.update_xaxes(rangeslider=slider, row=panels, col=1)
    fig.update_layout(legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))

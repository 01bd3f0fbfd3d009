"""The regime chart (pure Plotly, no Streamlit): a symbol's close with coloured background bands, one band per
stretch of bars in the same regime, and a legend entry per regime.

A band spans from a stretch's first bar to the next stretch's first bar (so bands touch and cover every bar);
bars whose regime is undefined (warm-up) get no band.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from engine.figures.style import GAIN, LOSS, NEUTRAL, STRATEGY
from engine.figures.style import layout as _layout

REGIME_COLORS: dict[str, str] = {
    "bull_calm": GAIN,
    "bull_volatile": "#84cc16",
    "bear_calm": "#f59e0b",
    "bear_volatile": LOSS,
    "calm": GAIN,
    "volatile": LOSS,
}
BAND_OPACITY = 0.18


def regime_spans(labels: pd.Series) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(regime, start, end) of each stretch of equal labels; end = the next stretch's first bar (the last bar for
    the last stretch). Undefined labels end a stretch and start none."""
    values = labels.to_numpy(dtype=object)
    index = labels.index
    spans: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
    start = None
    for i, value in enumerate(values):
        current = value if isinstance(value, str) else None
        previous = values[i - 1] if i > 0 and isinstance(values[i - 1], str) else None
        if current != previous:
            if previous is not None and start is not None:
                spans.append((previous, index[start], index[i]))
            start = i if current is not None else None
    if start is not None and len(values):
        spans.append((str(values[-1]), index[start], index[-1]))
    return spans


def regime_color(label: str, order: Sequence[str] = ()) -> str:
    """A regime's band colour (a fixed one for the built-in labels, else by position in `order`)."""
    if label in REGIME_COLORS:
        return REGIME_COLORS[label]
    palette = (STRATEGY, "#a855f7", "#14b8a6", NEUTRAL)
    return palette[list(order).index(label) % len(palette) if label in order else 0]


def regime_figure(
    close: pd.Series, labels: pd.Series, order: Sequence[str] = (), title: str | None = None
) -> go.Figure:
    """The close as a line over background bands coloured by regime; one legend entry per regime seen."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=close.index,
            y=close.to_numpy(),
            mode="lines",
            name=str(close.name or "close"),
            line=dict(color=STRATEGY, width=1.4),
        )
    )
    seen = [x for x in order if x in set(labels.dropna())] + sorted(x for x in set(labels.dropna()) if x not in order)
    bands = [
        dict(
            type="rect",
            xref="x",
            yref="paper",
            x0=start,
            x1=end,
            y0=0,
            y1=1,
            fillcolor=regime_color(label, order),
            opacity=BAND_OPACITY,
            line_width=0,
            layer="below",
        )
        for label, start, end in regime_spans(labels)
    ]  # one layout update: add_vrect per band is slow for hundreds of stretches
    fig.update_layout(shapes=bands)
    for label in seen:  # legend swatches: a square per regime (a trace without points still shows its legend entry)
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=label,
                marker=dict(symbol="square", size=12, color=regime_color(label, order), opacity=BAND_OPACITY * 3),
            )
        )
    fig.update_yaxes(title_text="close")
    return _layout(fig, title)

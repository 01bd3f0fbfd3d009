"""Journal markers on any Plotly figure (pure Plotly, no Streamlit): one star per journal entry at its trade's time,
its hover showing the entry's number, symbol, setup, state, tags, P&L and the start of its notes.

On an equity curve, pass the curve as `y` (a marker sits on the curve's value at the trade's time, or the last
value before it); on a price chart, leave `y` out (a marker sits at the trade's entry price, the table's `price`
column) and pass `symbol` to keep that symbol's entries. The table is `engine.journal.frames.journal_table(...)`.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

MARKER_COLOR = "#F5A623"
TRACE_NAME = "Journal"
NOTE_CHARS = 160


def marker_times(times: pd.Series, like: pd.Index | None = None) -> pd.DatetimeIndex:
    """The trade times as timestamps in the time zone of `like` (a naive index gets UTC times made naive)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(times.astype(str), utc=True, format="ISO8601"))
    tz = getattr(like, "tz", None)
    return stamps.tz_convert(tz) if tz is not None else stamps.tz_convert("UTC").tz_localize(None)


def hover_text(row: pd.Series) -> str:
    """One entry's hover: "#id SYMBOL", setup and state, tags, P&L, the notes' start (HTML line breaks)."""
    lines = [f"<b>Journal #{row.name}</b> {row.get('symbol', '')}"]
    detail = " · ".join(str(v) for v in (row.get("setup"), row.get("state_label")) if v)
    if detail:
        lines.append(detail)
    tags = row.get("tags") or ()
    if len(tags):
        lines.append("tags: " + ", ".join(tags))
    pnl = row.get("pnl")
    if pnl is not None and not (isinstance(pnl, float) and math.isnan(pnl)):
        lines.append(f"P&L {pnl:,.2f}")
    notes = str(row.get("notes") or "")
    if notes:
        short = notes if len(notes) <= NOTE_CHARS else notes[:NOTE_CHARS] + "…"
        lines.append(short.replace("<", "&lt;").replace("\n", "<br>"))
    return "<br>".join(lines)


def add_journal_markers(
    fig: go.Figure,
    journal: pd.DataFrame,
    y: pd.Series | None = None,
    *,
    symbol: str | None = None,
    row: int | None = None,
    col: int | None = None,
) -> go.Figure:
    """Add one "Journal" marker trace to `fig` (returned; unchanged when no entry is left to show).

    journal: the journal table (index: entry id; trade_time, symbol, notes, tags, setup, state_label, pnl, price).
    y: the plotted series to put the markers on (equity curve); None: at each entry's `price`.
    symbol: only that symbol's entries. row/col: the subplot of a make_subplots figure (ignored by a plain one).
    """
    rows = journal if symbol is None else journal[journal["symbol"] == symbol]
    if rows.empty:
        return fig
    times = marker_times(rows["trade_time"], None if y is None else y.index)
    if y is None:
        values = rows["price"].to_numpy(dtype="float64")
    else:
        curve = y.dropna().sort_index()
        at = curve.index.searchsorted(times, side="right") - 1
        values = [float(curve.iloc[max(i, 0)]) if len(curve) else math.nan for i in at]
    trace = go.Scatter(
        x=times,
        y=values,
        mode="markers",
        name=TRACE_NAME,
        marker={"symbol": "star", "size": 13, "color": MARKER_COLOR, "line": {"width": 1, "color": "#333333"}},
        text=[hover_text(r) for _, r in rows.iterrows()],
        customdata=list(rows.index),
        hovertemplate="%{text}<extra></extra>",
    )
    if row is not None and getattr(fig, "_grid_ref", None) is not None:  # a make_subplots figure
        fig.add_trace(trace, row=row, col=col)
    else:
        fig.add_trace(trace)
    return fig

"""Pending stop and limit levels of an event run on its price chart (pure pandas + Plotly, no Streamlit calls).

`pending_levels` reads the order log (engine.sim.event.fills.ORDER_LOG_COLUMNS) and returns one horizontal segment
per level a resting order held: from the bar it was placed (or the bar its level last changed: a modification, or a
trailing stop's level as logged at its next event) to the bar it was filled, canceled or expired, or to the end of
the chart while it is still open. `add_pending_levels` draws them over the candles: stops, limits and trailing
stops in distinct styles, one legend entry each.

A trailing stop's level moves with the price between its events, but the log records it only at its events
(placed, modified, partially filled, and its end): the chart holds each logged level until the next event, a step
where a logged level differs, and does not draw the level logged at the order's end.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from engine.figures.style import TRAILING

#: The order types that rest at a price, and which of their prices are drawn: (kind, column) per level.
RESTING: dict[str, tuple[tuple[str, str], ...]] = {
    "limit": (("limit", "limit_price"),),
    "stop": (("stop", "stop_price"),),
    "stop_limit": (("stop", "stop_price"), ("limit", "limit_price")),
    "trailing_stop": (("trailing_stop", "stop_price"),),
}
#: The events after which an order rests no more.
FINAL_EVENTS = frozenset({"filled", "canceled", "expired", "rejected"})
LEVEL_COLUMNS = ("symbol", "order_id", "kind", "side", "type", "price", "start", "end", "until")
"""One row per segment: the order's symbol, id, level kind (stop / limit / trailing_stop), side and type, the
level's price, the bars where the segment starts and ends, and what ended it (filled, canceled, expired,
modified: a new level follows, open: still resting at the end)."""
STYLES: dict[str, dict[str, object]] = {
    "stop": {"name": "pending stop", "color": "#e11d48", "dash": "dash"},
    "limit": {"name": "pending limit", "color": "#0284c7", "dash": "dot"},
    "trailing_stop": {"name": "pending trailing stop", "color": TRAILING, "dash": "dashdot"},
}
"""How each level kind is drawn: legend name, colour, dash."""


def pending_levels(orders: pd.DataFrame | None, end: pd.Timestamp, symbol: str | None = None) -> pd.DataFrame:
    """The levels the resting orders of `orders` held (one symbol's, or all with None), as LEVEL_COLUMNS rows.

    Each order from its "placed" event: a segment at its price until the next event that changes the price (a new
    segment starts there) or ends the order (filled, canceled, expired); `end` when it never ends. An order
    rejected at any point never rested and draws nothing; a price that is NaN (not logged) draws nothing.
    """
    rows: list[tuple[object, ...]] = []
    if orders is None or orders.empty:
        return pd.DataFrame(rows, columns=list(LEVEL_COLUMNS))
    log = orders if symbol is None else orders[orders["symbol"].astype(str) == symbol]
    log = log[log["type"].astype(str).isin(list(RESTING))]
    for order_id, events in log.groupby("order_id", sort=False):
        kinds = [str(e) for e in events["event"]]
        if "placed" not in kinds or "rejected" in kinds:
            continue
        events = events.iloc[kinds.index("placed") :]
        first = events.iloc[0]
        for kind, column in RESTING[str(first["type"])]:
            rows += _segments(events, kind, column, end, order_id)
    return pd.DataFrame(rows, columns=list(LEVEL_COLUMNS))


def _segments(events: pd.DataFrame, kind: str, column: str, end: pd.Timestamp, order_id: object) -> list[tuple]:
    """One order's segments at `column`'s price: a new one at each price change, the last to its final event."""
    first = events.iloc[0]
    head = (first["symbol"], order_id, kind, first["side"], first["type"])
    out: list[tuple] = []
    price, start = float(first[column]), pd.Timestamp(first["time"])
    for row in events.iloc[1:].itertuples(index=False):
        event, now, level = str(row.event), pd.Timestamp(row.time), float(getattr(row, column))
        if event in FINAL_EVENTS:
            if not math.isnan(price):
                out.append((*head, price, start, now, event))
            return out
        if level != price and not (math.isnan(level) and math.isnan(price)):
            if not math.isnan(price):
                out.append((*head, price, start, now, "modified"))
            price, start = level, now
    if not math.isnan(price):
        out.append((*head, price, start, pd.Timestamp(end), "open"))
    return out


def add_pending_levels(fig: go.Figure, levels: pd.DataFrame, row: int = 1, col: int = 1) -> go.Figure:
    """`fig` with one line trace per level kind in `levels` (a `pending_levels` frame): each segment a horizontal
    line from its start to its end, split by gaps; hovering a segment names the order (side, type, id) and what
    ended it. Drawn on subplot (`row`, `col`) when `fig` has subplots."""
    grid = getattr(fig, "_grid_ref", None) is not None
    for kind, style in STYLES.items():
        mine = levels[levels["kind"] == kind]
        if mine.empty:
            continue
        xs: list[object] = []
        ys: list[object] = []
        info: list[list[object]] = []
        for seg in mine.itertuples(index=False):
            xs += [seg.start, seg.end, None]
            ys += [seg.price, seg.price, None]
            text = [str(seg.side), str(seg.type).replace("_", " "), str(seg.order_id), str(seg.until)]
            info += [text, text, [None] * 4]
        trace = go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=str(style["name"]),
            line=dict(color=style["color"], width=1.4, dash=style["dash"]),
            customdata=info,
            hovertemplate="%{customdata[0]} %{customdata[1]} %{customdata[2]} @ %{y:.6g}<br>until %{customdata[3]}"
            "<extra></extra>",
        )
        if grid:
            fig.add_trace(trace, row=row, col=col)
        else:
            fig.add_trace(trace)
    return fig

"""Pure helpers of the Desk page: which values of an open order its modify control offers, the labels of an
order's buttons, the columns of the closed-orders table and the tables' column headers. No Streamlit here (the page draws)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.orders.rules import NEEDS_LIMIT, NEEDS_STOP

CLOSED_COLUMNS: tuple[str, ...] = (
    "symbol",
    "side",
    "type",
    "quantity",
    "filled",
    "avg_fill_price",
    "filled_at",
    "status",
    "submitted_at",
    "client_order_id",
)
"""The closed-orders table (index: the broker's order id), from engine.ops.desk.ORDER_COLUMNS."""
MONEY_COLUMNS: tuple[str, ...] = (
    "avg_cost",
    "last_price",
    "market_value",
    "unrealized_pnl",
    "today_pnl",
    "limit_price",
    "stop_price",
    "avg_fill_price",
)
"""Columns of the desk's tables shown as money (two decimals; the frames keep every digit)."""
PERCENT_COLUMNS: tuple[str, ...] = ("unrealized_pct", "weight", "target_weight", "drift")
"""Fractions shown as percentages."""


#: Column names whose plain reading needs more than underscores turned into spaces.
_WORDS = {"pnl": "P&L", "avg": "average", "pct": "(%)", "id": "ID", "qty": "quantity"}


def column_label(name: str) -> str:
    """A desk table's column header for people: "unrealized_pnl" -> "Unrealized P&L", "unrealized_pct" ->
    "Unrealized (%)", "client_order_id" -> "Client order ID"; percentage columns say (%)."""
    words = [_WORDS.get(w, w) for w in str(name).split("_")]
    text = " ".join(words)
    if name in PERCENT_COLUMNS and "(%)" not in text:
        text += " (%)"
    return text[:1].upper() + text[1:]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value))


def modify_inputs(order: Any) -> list[tuple[str, str, float]]:
    """(field of brokers.desk.modify_order, label, current value) for each value this order's type has: the
    quantity always, the limit price of a limit / stop-limit, the stop price of a stop / stop-limit, the trail
    of a trailing stop (in its own unit). `order`: a row of engine.ops.desk.orders_frame (attributes)."""
    out = [("quantity", "Quantity", float(order.quantity))]
    if order.type in NEEDS_LIMIT and _present(order.limit_price):
        out.append(("limit_price", "Limit price", float(order.limit_price)))
    if order.type in NEEDS_STOP and _present(order.stop_price):
        out.append(("stop_price", "Stop price", float(order.stop_price)))
    if order.type == "trailing_stop":
        if _present(order.trail_percent):
            out.append(("trail", "Trail (%)", float(order.trail_percent)))
        elif _present(order.trail_price):
            out.append(("trail", "Trail (price)", float(order.trail_price)))
    return out


def order_label(order: Any) -> str:
    """`buy 5 XLF limit 123.45`, `sell 10 SPY stop_limit stop 95 limit 94.5`: the prices the order type has, so a
    changed price shows in the label (a price named like the type is not named twice)."""
    parts = [order.side, f"{float(order.quantity):g}", order.symbol, order.type]
    for _field, label, value in modify_inputs(order)[1:]:
        name = label.split()[0].lower()
        parts += [f"{value:g}"] if name == order.type else [name, f"{value:g}"]
    return " ".join(parts)


def closed_table(orders: pd.DataFrame) -> pd.DataFrame:
    """The closed orders (engine.ops.desk.orders_frame) with CLOSED_COLUMNS, indexed by order id."""
    return orders.set_index("id")[list(CLOSED_COLUMNS)]

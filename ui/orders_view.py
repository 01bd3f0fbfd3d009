"""The "Orders" tab of an event run: its order log (engine.sim.event.fills.ORDER_LOG_COLUMNS) as a table with
readable headers, filtered by event and symbol, and the rows shown as CSV.

`order_rows` (the filter) and `display_orders` (what the table shows) are pure pandas, so tests check them
directly; `show_orders` draws the tab.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd
import streamlit as st

from engine.store.runs import StoredRun
from ui import tables

#: The events of an order's life, in the order the filter lists them.
EVENTS = ("placed", "modified", "partially_filled", "filled", "canceled", "expired", "rejected")
#: Column headers of the order log.
ORDER_LABELS = {
    "time": "Time",
    "event": "Event",
    "order_id": "Order id",
    "client_order_id": "Client order id",
    "symbol": "Symbol",
    "side": "Side",
    "type": "Type",
    "quantity": "Quantity",
    "limit_price": "Limit price",
    "stop_price": "Stop price",
    "fill_price": "Fill price",
    "fill_quantity": "Filled quantity",
    "reason": "Reason",
}
_FILLS = ("filled", "partially_filled")


def order_rows(orders: pd.DataFrame, events: Collection[str] = (), symbols: Collection[str] = ()) -> pd.DataFrame:
    """The rows of the order log whose event is one of `events` and symbol one of `symbols` (empty = any), in
    the log's order."""
    keep = pd.Series(True, index=orders.index)
    if events:
        keep &= orders["event"].astype(str).isin(list(events))
    if symbols:
        keep &= orders["symbol"].astype(str).isin(list(symbols))
    return orders[keep]


def display_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """The order log as the table shows it: text columns as plain text, the quantity blank where it is not known
    yet (a target-percent order is sized at its fill and logs 0 until then) and the filled quantity blank on rows
    that are not fills, so a blank cell means "none" and never reads as a zero-size order."""
    out = orders.reset_index(drop=True).copy()
    for col in ("event", "order_id", "client_order_id", "symbol", "side", "type", "reason"):
        if col in out.columns:
            out[col] = out[col].astype(object).where(out[col].notna(), None).map(lambda v: v or None)
    quantity = pd.to_numeric(out["quantity"], errors="coerce").astype("float64")
    out["quantity"] = quantity.where(quantity != 0.0)
    filled = pd.to_numeric(out["fill_quantity"], errors="coerce").astype("float64")
    out["fill_quantity"] = filled.where(out["event"].isin(_FILLS))
    for col in ("limit_price", "stop_price", "fill_price"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def order_columns(orders: pd.DataFrame) -> dict[str, Any]:
    """Column settings: the ORDER_LABELS headers, times as dates (date and time when intraday), prices and
    quantities to 6 significant digits."""
    times = pd.to_datetime(orders["time"]).dropna()
    daily = bool((times == times.dt.normalize()).all())
    config: dict[str, Any] = {}
    for col in orders.columns:
        label = ORDER_LABELS.get(str(col), str(col))
        if col == "time":
            config[col] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD" if daily else "YYYY-MM-DD HH:mm")
        elif col in ("quantity", "limit_price", "stop_price", "fill_price", "fill_quantity"):
            config[col] = st.column_config.NumberColumn(label, format="%.6g")
        else:
            config[col] = st.column_config.Column(label)
    return config


def show_orders(run: StoredRun, key: str) -> None:
    """The tab: event and symbol filters, the order log's rows that pass them, and those rows as CSV."""
    orders = run.result.orders
    if orders is None:
        st.info("This run has no order log: only event-mode runs record their orders.")
        return
    present = set(orders["event"].astype(str))
    c1, c2 = st.columns(2)
    events = c1.multiselect(
        "Events",
        [e for e in EVENTS if e in present] + sorted(present - set(EVENTS)),
        key=f"{key}_order_events",
        placeholder="All events",
    )
    symbols = c2.multiselect(
        "Symbols", sorted(set(orders["symbol"].astype(str))), key=f"{key}_order_symbols", placeholder="All symbols"
    )
    rows = order_rows(orders, events, symbols)
    shown = display_orders(rows)
    tables.show(shown, key=f"{key}_orders", hide_index=True, column_config=order_columns(shown))
    st.caption(
        f"{len(rows):,} of {len(orders):,} order events. A blank quantity on a placed order: a target-percent "
        "order, sized at its fill. Time: the bar in which the event happened."
    )
    st.download_button(
        "Download these orders (CSV)",
        rows.to_csv(index=False),
        f"orders_{run.id}.csv",
        "text/csv",
        key=f"{key}_orders_csv",
        on_click="ignore",
    )

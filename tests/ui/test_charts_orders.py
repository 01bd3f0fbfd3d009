"""Pending stop and limit levels from an order log, and the Orders table's filter and display, on a hand-made log:
every segment's start, end and price written out by hand from the rules (placed -> a level; a price change -> a
new segment; filled / canceled / expired -> the end; never ended -> the chart's last bar; rejected -> nothing)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from engine.sim.event.fills import ORDER_LOG_COLUMNS
from ui.charts_orders import add_pending_levels, pending_levels
from ui.orders_view import display_orders, order_rows

NAN = math.nan
T = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=d) for d in range(8)]
END = pd.Timestamp("2024-01-31")


def _log() -> pd.DataFrame:
    rows = [
        # time, event, id, client id, symbol, side, type, quantity, limit, stop, fill price, fill qty, reason
        (T[0], "placed", "o1", "c1", "AAA", "buy", "stop", 10.0, NAN, 105.0, NAN, 0.0, ""),
        (T[0], "placed", "o4", "c4", "AAA", "sell", "trailing_stop", 10.0, NAN, 95.0, NAN, 0.0, ""),
        (T[1], "placed", "o2", "c2", "AAA", "sell", "limit", 10.0, 110.0, NAN, NAN, 0.0, ""),
        (T[1], "placed", "o3", "c3", "AAA", "buy", "stop_limit", 5.0, 98.5, 99.0, NAN, 0.0, ""),
        (T[1], "placed", "o5", "c5", "AAA", "buy", "market", 0.0, NAN, NAN, NAN, 0.0, ""),
        (T[1], "placed", "o6", "c6", "AAA", "buy", "limit", 3.0, 90.0, NAN, NAN, 0.0, ""),
        (T[1], "rejected", "o6", "c6", "AAA", "buy", "limit", 3.0, 90.0, NAN, NAN, 0.0, "no buying power"),
        (T[1], "placed", "o7", "c7", "BBB", "sell", "limit", 1.0, 50.0, NAN, NAN, 0.0, ""),
        (T[2], "filled", "o5", "c5", "AAA", "buy", "market", 7.0, NAN, NAN, 100.0, 7.0, ""),
        (T[3], "modified", "o1", "c1", "AAA", "buy", "stop", 10.0, NAN, 104.0, NAN, 0.0, ""),
        (T[3], "partially_filled", "o4", "c4", "AAA", "sell", "trailing_stop", 10.0, NAN, 96.0, 96.0, 4.0, ""),
        (T[4], "canceled", "o2", "c2", "AAA", "sell", "limit", 10.0, 110.0, NAN, NAN, 0.0, "canceled by the strategy"),
        (T[5], "filled", "o1", "c1", "AAA", "buy", "stop", 10.0, NAN, 104.0, 104.2, 10.0, ""),
        (T[6], "expired", "o3", "c3", "AAA", "buy", "stop_limit", 5.0, 98.5, 99.0, NAN, 0.0, "day order expired"),
    ]
    return pd.DataFrame(rows, columns=list(ORDER_LOG_COLUMNS))


def _segments(levels: pd.DataFrame) -> list[tuple]:
    return [
        (r.order_id, r.kind, r.price, r.start, r.end, r.until)
        for r in levels.sort_values(["order_id", "kind", "start"]).itertuples()
    ]


def test_segments_of_one_symbol_by_hand() -> None:
    levels = pending_levels(_log(), END, "AAA")
    assert _segments(levels) == [
        ("o1", "stop", 105.0, T[0], T[3], "modified"),  # placed at 105, moved to 104 on T3
        ("o1", "stop", 104.0, T[3], T[5], "filled"),
        ("o2", "limit", 110.0, T[1], T[4], "canceled"),
        ("o3", "limit", 98.5, T[1], T[6], "expired"),  # a stop-limit: its limit and its stop trigger
        ("o3", "stop", 99.0, T[1], T[6], "expired"),
        ("o4", "trailing_stop", 95.0, T[0], T[3], "modified"),  # its level as logged at its next event
        ("o4", "trailing_stop", 96.0, T[3], END, "open"),  # partly filled, rests to the end
    ]  # o5 (market) never rests, o6 was rejected, o7 is another symbol's
    assert set(levels["side"][levels["order_id"] == "o1"]) == {"buy"}


def test_all_symbols_and_an_empty_log() -> None:
    every = pending_levels(_log(), END)
    assert ("o7", "limit", 50.0, T[1], END, "open") in _segments(every)
    assert len(every) == 8
    assert pending_levels(_log().iloc[:0], END).empty and pending_levels(None, END).empty


def test_traces_one_per_kind_each_segment_a_horizontal_line() -> None:
    fig = add_pending_levels(go.Figure(), pending_levels(_log(), END, "AAA"))
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"pending stop", "pending limit", "pending trailing stop"}
    stop = by_name["pending stop"]
    assert list(stop.x) == [T[0], T[3], None, T[3], T[5], None, T[1], T[6], None]
    assert list(stop.y) == [105.0, 105.0, None, 104.0, 104.0, None, 99.0, 99.0, None]
    assert list(by_name["pending limit"].y) == [110.0, 110.0, None, 98.5, 98.5, None]
    styles = {name: (t.line.dash, t.line.color) for name, t in by_name.items()}
    assert len(set(styles.values())) == 3  # stops, limits and trailing stops drawn apart
    assert list(stop.customdata[0]) == ["buy", "stop", "o1", "modified"]


def test_orders_table_filter_and_blanks() -> None:
    log = _log()
    assert list(order_rows(log, ["filled"])["order_id"]) == ["o5", "o1"]
    assert list(order_rows(log, ["placed"], ["BBB"])["order_id"]) == ["o7"]
    assert len(order_rows(log)) == len(log)
    shown = display_orders(log)
    # the market order's quantity is sized at its fill: blank before, 7 on the fill
    assert math.isnan(shown.loc[4, "quantity"]) and shown.loc[8, "quantity"] == 7.0
    assert math.isnan(shown.loc[0, "fill_quantity"]) and shown.loc[10, "fill_quantity"] == 4.0
    assert pd.isna(shown.loc[0, "reason"]) and shown.loc[6, "reason"] == "no buying power"

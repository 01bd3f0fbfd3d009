"""engine.ops.desk: the previous session's equity by New York date, exposure, order filters (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd

from engine.ops.desk import exposure, filter_orders, previous_closes, previous_session_equity


def test_previous_session_is_by_new_york_date():
    # 2026-03-10 03:00 UTC is still March 9 in New York (22:00 EDT): it belongs to the previous session
    history = pd.Series(
        [100.0, 101.0, 102.0, 103.0],
        index=pd.to_datetime(
            ["2026-03-06 20:00", "2026-03-09 20:59", "2026-03-10 03:00", "2026-03-10 14:00"], utc=True
        ),
    )
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York, March 10
    assert previous_session_equity(history, now) == 102.0
    assert previous_session_equity(history.iloc[::-1], now) == 102.0  # order does not matter
    assert previous_session_equity(history.iloc[3:], now) is None
    assert previous_session_equity(history.iloc[:0], now) is None


def test_exposure_and_filters():
    pos = [SimpleNamespace(market_value=1000.0), SimpleNamespace(market_value=-250.0)]
    assert exposure(pos) == (1250.0, 750.0)
    t = pd.Timestamp("2026-03-10 14:00", tz="UTC")
    orders = [
        SimpleNamespace(symbol="SPY", side="buy", submitted_at=t),
        SimpleNamespace(symbol="QQQ", side="sell", submitted_at=t - pd.Timedelta(days=2)),
        SimpleNamespace(symbol="SPY", side="sell", submitted_at=None),
    ]
    assert filter_orders(orders, symbol=" spy ") == [orders[0], orders[2]]
    assert filter_orders(orders, side="sell") == orders[1:]
    assert filter_orders(orders, since="2026-03-09") == [orders[0]]


def test_previous_closes_are_of_an_earlier_session():
    close = pd.DataFrame(
        {"A": [10.0, 11.0, 12.0], "B": [20.0, float("nan"), 22.0], "C": [float("nan"), float("nan"), 5.0]},
        index=pd.to_datetime(["2026-03-06", "2026-03-09", "2026-03-10"]),
    )
    now = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # March 10 in New York: that bar is today's, not previous
    assert previous_closes(close, now) == {"A": 11.0, "B": 20.0}

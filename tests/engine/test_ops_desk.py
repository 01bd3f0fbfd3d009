"""engine.ops.desk: the previous session's equity by New York date, exposure, order filters (pure); engine.ops.desk_store:
imported equity points (real SQLite in tmp_path)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.ops.desk import exposure, filter_orders, previous_closes, previous_session_equity
from engine.ops.desk_store import COMPONENT, MIGRATIONS, DeskStore
from engine.store.sqlite import connect, ensure_schema


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


def test_import_history_is_idempotent_and_marks_its_source(tmp_path):
    store = DeskStore(tmp_path / "desk.db")
    store.record_snapshot(
        "alpaca", "A1", 101_000.0, 50_000.0, 51_000.0, 51_000.0, datetime(2026, 3, 10, 15, tzinfo=UTC)
    )
    points = [
        (datetime(2026, 3, 5, 5, 0), 0.0),  # before the account was funded: skipped
        (datetime(2026, 3, 6, 5, 0), 100_000.0),  # naive = UTC
        (datetime(2026, 3, 9, 5, 0, tzinfo=UTC), 98_000.0),
        (datetime(2026, 3, 9, 6, 0, tzinfo=UTC), float("nan")),  # skipped
    ]
    assert store.import_history("alpaca", "A1", points, source="alpaca history") == 2
    assert store.import_history("alpaca", "A1", points, source="alpaca history") == 0  # nothing twice
    hist = store.history("alpaca", "A1")
    assert hist["equity"].tolist() == [100_000.0, 98_000.0, 101_000.0]
    assert hist["source"].tolist() == ["alpaca history", "alpaca history", "desk"]
    assert list(hist.index) == list(
        pd.to_datetime(["2026-03-06 05:00", "2026-03-09 05:00", "2026-03-10 15:00"], utc=True)
    )
    assert hist["cash"].isna().tolist() == [True, True, False]  # an imported point knows no cash
    assert store.drawdown("alpaca", "A1").tolist() == [0.0, 98 / 100 - 1, 0.0]
    assert store.history("alpaca", "OTHER").empty

    # the broker revised a point: same row, new equity; a new point adds one row
    revised = [(datetime(2026, 3, 9, 5, 0, tzinfo=UTC), 98_500.0), (datetime(2026, 3, 10, 5, 0, tzinfo=UTC), 99_000.0)]
    assert store.import_history("alpaca", "A1", revised, source="alpaca history") == 1
    assert store.history("alpaca", "A1")["equity"].tolist() == [100_000.0, 98_500.0, 99_000.0, 101_000.0]
    with pytest.raises(ConfigError, match="source 'desk' must name where the points come from"):
        store.import_history("alpaca", "A1", revised, source="desk")


def test_a_version_1_desk_database_keeps_its_snapshots(tmp_path):
    path = tmp_path / "old.db"
    with closing(connect(path)) as conn:
        ensure_schema(conn, COMPONENT, MIGRATIONS[:1])
        conn.execute(
            "INSERT INTO account_snapshots (ts, broker, account_id, equity, cash, gross_exposure, net_exposure) "
            "VALUES ('2026-03-06T20:00:00+00:00', 'paper', 'P1', 100.0, 40.0, 60.0, 60.0)"
        )
        conn.commit()
    store = DeskStore(path)  # migrates to the current version
    hist = store.history("paper", "P1")
    assert hist[["equity", "cash", "gross_exposure", "net_exposure"]].iloc[0].tolist() == [100.0, 40.0, 60.0, 60.0]
    assert hist["source"].tolist() == ["desk"]
    store.record_snapshot("paper", "P1", 110.0, 40.0, 70.0, 70.0, datetime(2026, 3, 9, 20, tzinfo=UTC))
    assert store.history("paper", "P1")["equity"].tolist() == [100.0, 110.0]

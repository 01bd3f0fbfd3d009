"""Fill quality against the backtest's price: each fill vs the open of the session it filled in."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from brokers.execution import execute_plan
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.planning import plan_rebalance
from engine.config import Costs
from engine.ops.audit_log import AuditLog, fill_session, slippage_vs_open
from tests.brokers.paper.test_execution_paper import PRICES, signal


def results(rows):
    cols = ["symbol", "side", "filled_quantity", "avg_fill_price", "filled_at", "updated_at"]
    return pd.DataFrame(rows, columns=cols)


def test_fill_session_is_the_new_york_session_that_priced_the_fill():
    assert fill_session("2024-03-11T14:30:00+00:00") == pd.Timestamp("2024-03-11")  # Mon 10:30 EDT
    assert fill_session("2024-03-11T19:59:59+00:00") == pd.Timestamp("2024-03-11")  # 15:59:59 EDT
    assert fill_session("2024-03-11T20:00:00+00:00") == pd.Timestamp("2024-03-12")  # 16:00 EDT: next session
    assert fill_session("2024-03-08T22:00:00+00:00") == pd.Timestamp("2024-03-11")  # Fri 17:00 EST -> Monday
    assert fill_session("2024-03-09T15:00:00+00:00") == pd.Timestamp("2024-03-11")  # Saturday -> Monday
    assert fill_session("2024-01-02T03:00:00+00:00") == pd.Timestamp("2024-01-02")  # Mon 22:00 EST -> Tuesday
    assert fill_session("2024-01-01T15:00:00+00:00") == pd.Timestamp("2024-01-01")  # a holiday: the bar used is
    # the next one in the data (see the Good Friday fill below)


def test_slippage_vs_open_by_hand():
    opens = {
        "AAA": pd.Series([99.0, 100.0, 250.0], index=pd.to_datetime(["2024-03-08", "2024-03-11", "2024-04-01"])),
        "BBB": pd.Series([41.0, 40.0], index=pd.to_datetime(["2024-03-08", "2024-03-11"])),
    }
    res = results(
        [
            ("AAA", "buy", 10.0, 101.0, "2024-03-11T14:30:00+00:00", "x"),  # vs 100.0: +100 bps
            ("BBB", "sell", 5.0, 39.8, "2024-03-08T22:00:00+00:00", "x"),  # after Friday's close: Monday 40.0
            ("AAA", "sell", 2.0, 255.0, "2024-03-29T15:00:00+00:00", "x"),  # Good Friday: no bar, next is 04-01
            ("BBB", "buy", 1.0, 40.0, "2024-03-12T15:00:00+00:00", "x"),  # session 03-12 not in the data yet
            ("AAA", "buy", 0.0, None, None, "2024-03-11T15:00:00+00:00"),  # nothing filled: left out
            ("CCC", "buy", 1.0, 10.0, None, "2024-03-11T15:00:00+00:00"),  # no bars for CCC at all; no filled_at
        ]
    )
    out = slippage_vs_open(res, opens)
    assert len(out) == 5
    assert out["session"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-11",
        "2024-03-11",
        "2024-03-29",
        "2024-03-12",
        "2024-03-11",
    ]
    assert out["bar_date"].iloc[2] == pd.Timestamp("2024-04-01") and pd.isna(out["bar_date"].iloc[3])
    assert out["session_open"].iloc[:3].tolist() == [100.0, 40.0, 250.0]
    expected = [(101.0 / 100.0 - 1) * 1e4, (1 - 39.8 / 40.0) * 1e4, (1 - 255.0 / 250.0) * 1e4]
    assert out["slippage_open_bps"].iloc[:3].tolist() == pytest.approx(expected)
    assert expected == pytest.approx([100.0, 50.0, -200.0])  # a sell above the open is better: negative
    assert out["slippage_open_bps"].iloc[3:].isna().all()  # pending: the bar is not in the data yet


def test_recorded_paper_fills_join_the_session_open(tmp_path):
    paper = PaperBroker(
        tmp_path / "paper.db",
        initial_cash=30_000.0,
        price_source=StaticPrices(PRICES),
        costs=Costs(commission_bps=10, slippage_bps=5),
    )
    log = AuditLog()
    plan = plan_rebalance(signal(), paper, log=log)
    execute_plan(plan, paper, log=log)
    res = log.order_results(plan_id=plan.plan_id)
    assert res["filled_at"].notna().all()
    stamps = pd.to_datetime(res["filled_at"], utc=True)
    assert (stamps <= pd.Timestamp.now(tz="UTC")).all()
    assert (stamps > pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=10)).all()
    # bars for every day around now, the open 1% under the reference price: whatever session the fill
    # belongs to, its open is 0.99 x reference; paper fills at reference x 1.0005 (5 bps slippage)
    days = pd.date_range(pd.Timestamp.now().normalize() - pd.Timedelta(days=3), periods=10, freq="D")
    opens = {s: pd.Series(np.full(len(days), 0.99 * PRICES[s]), index=days) for s in PRICES}
    out = slippage_vs_open(res, opens)
    assert out["slippage_open_bps"].tolist() == pytest.approx([(1.0005 / 0.99 - 1) * 1e4] * 3)
    assert out["slippage_bps"].tolist() == pytest.approx([5.0] * 3)  # vs the plan price, kept as it was
    assert not math.isnan(out["slippage_open_bps"].iloc[0])

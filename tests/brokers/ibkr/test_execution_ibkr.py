"""Signals -> plan -> execute -> reconcile with the REAL ib_async client against FakeTwsServer on 127.0.0.1.

Whole shares (IBKR's capabilities). The fake counts accepted orders (`orders_created`) and every placeOrder
message (`place_order_msgs`): "sent once" is measured at the server.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from brokers.execution import execute_plan
from brokers.ibkr.adapter import IbkrBroker
from brokers.planning import plan_rebalance
from engine.ops.audit_log import AuditLog
from tests.brokers.flat_signal import PRICES, signal


@pytest.fixture
def ib(tws_fake, ib_log):
    b = IbkrBroker(port=tws_fake.port, client_id=11, timeout=3)
    yield b
    b.close()


def fast(plan, b, **kw):
    return execute_plan(plan, b, timeout=kw.pop("timeout", 1.5), poll_interval=0.05, backoff=0.05, **kw)


def test_full_flow_whole_shares_with_rejection_and_partial_fill(ib, tws_fake, ib_log):
    ib_log.allow(r"Order rejected", r"Error 201")
    tws_fake.cash = 50_000.0
    tws_fake.set_position("QQQ", 125, 380.0)  # equity 50,000 + 125 x 400 = 100,000
    tws_fake.reject["AAPL"] = "not allowed today"
    tws_fake.partial["SPY"] = 0.5
    plan = plan_rebalance(signal(), ib)
    assert plan.approved and plan.equity == 100_000.0 and not plan.fractional
    per = Fraction(100_000, 3) * Fraction(999, 1000)
    expect = {s: float(math.floor(per / int(PRICES[s]))) for s in PRICES}  # whole shares, rounded down
    assert expect == {"SPY": 66.0, "AAPL": 166.0, "QQQ": 83.0}
    assert plan.target_quantities == expect
    assert [(o.symbol, o.side, o.quantity) for o in plan.orders] == [
        ("QQQ", "sell", 42.0),
        ("AAPL", "buy", 166.0),
        ("SPY", "buy", 66.0),
    ]
    log = AuditLog()
    rep = fast(plan, ib, log=log)
    res = {o.symbol: o for o in rep.orders}
    assert rep.status == "partial"
    assert (res["QQQ"].status, res["QQQ"].filled_quantity, res["QQQ"].avg_fill_price) == ("filled", 42.0, 400.0)
    assert res["AAPL"].status == "rejected" and "not allowed today" in res["AAPL"].reason
    assert (res["SPY"].status, res["SPY"].filled_quantity) == ("partially_filled", 33.0)  # floor(66 x 0.5)
    recon = rep.reconciliation.set_index("symbol")
    assert recon["actual_quantity"].to_dict() == {"AAPL": 0.0, "QQQ": 83.0, "SPY": 33.0}
    assert recon["residual"].to_dict() == {"AAPL": 166.0, "QQQ": 0.0, "SPY": 33.0}
    assert tws_fake.orders_created == 2
    assert log.events(plan_id=plan.plan_id, kind="error")["symbol"].tolist() == ["AAPL"]
    again = fast(plan, ib)
    assert again.sent == 0 and tws_fake.orders_created == 2


def test_connection_dropped_mid_execution_then_retry_sends_nothing_twice(ib, tws_fake, ib_log):
    ib_log.allow(r"Peer closed connection")
    tws_fake.drop_on_order = 2  # the 2nd order arrives and fills, then the socket closes without an answer
    plan = plan_rebalance(signal(), ib)
    rep = fast(plan, ib)
    assert rep.status == "complete", (rep.errors, rep.orders_frame())
    assert rep.sent == 2  # the dropped one came back as "already known" after the reconnect
    assert tws_fake.orders_created == 3 and tws_fake.place_order_msgs == 3
    assert tws_fake.connections == 2
    assert fast(plan, ib).sent == 0
    assert tws_fake.orders_created == 3
    assert {p.symbol: p.quantity for p in ib.positions()} == plan.target_quantities

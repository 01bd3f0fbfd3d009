"""Signals -> plan -> execute -> reconcile with the REAL alpaca-py client against FakeAlpacaServer on 127.0.0.1.

The fake counts the orders it accepted (`orders_created`) and every POST (`order_posts`), so "sent once" is
measured at the server, not in our code.
"""

from __future__ import annotations

import math
import threading
from fractions import Fraction

import numpy as np
import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import BrokerConfigError
from brokers.execution import execute_plan
from brokers.planning import plan_rebalance
from engine.ops.audit_log import AuditLog
from tests.brokers.flat_signal import PRICES, signal


def broker(fake, **kw):
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5, **kw)


def fast(plan, b, **kw):
    return execute_plan(plan, b, timeout=kw.pop("timeout", 1.0), poll_interval=0.05, backoff=0.05, **kw)


def test_full_flow_with_rejection_and_partial_fill(alpaca_fake):
    alpaca_fake.cash = 50_000.0
    alpaca_fake.set_position("QQQ", 125, 380.0)  # 50,000 in QQQ: equity 100,000
    alpaca_fake.reject["AAPL"] = "asset AAPL is not tradable"
    alpaca_fake.partial["SPY"] = 0.5
    b = broker(alpaca_fake)
    plan = plan_rebalance(signal(), b)
    assert plan.approved and plan.equity == 100_000.0
    per = Fraction(100_000, 3) * Fraction(999, 1000)  # each third less the 0.1% cash buffer; no costs here
    expect = {s: math.floor(per / int(PRICES[s]) * 10**6) / 10**6 for s in PRICES}  # exact, rounded down
    assert plan.target_quantities == pytest.approx(expect, abs=1e-9)
    assert [(o.symbol, o.side) for o in plan.orders] == [("QQQ", "sell"), ("AAPL", "buy"), ("SPY", "buy")]

    log = AuditLog()
    rep = fast(plan, b, log=log)
    res = {o.symbol: o for o in rep.orders}
    assert rep.status == "partial"
    assert res["QQQ"].status == "filled" and res["QQQ"].filled_quantity == pytest.approx(125 - expect["QQQ"])
    assert res["AAPL"].status == "rejected" and "not tradable" in res["AAPL"].reason
    assert res["SPY"].status == "partially_filled"
    assert res["SPY"].filled_quantity == np.floor(expect["SPY"] * 0.5)  # the fake fills floor(qty x 0.5)
    assert res["SPY"].slippage_bps == 0.0  # the fake fills at its latest price = the plan's reference
    recon = rep.reconciliation.set_index("symbol")
    assert recon.loc["QQQ", "status"] == "ok"
    assert recon.loc["AAPL", "residual"] == pytest.approx(expect["AAPL"])
    assert recon.loc["SPY", "residual"] == pytest.approx(expect["SPY"] - np.floor(expect["SPY"] * 0.5))
    assert alpaca_fake.orders_created == 2  # QQQ and SPY; AAPL was refused
    errors = log.events(plan_id=plan.plan_id, kind="error")
    assert errors["symbol"].tolist() == ["AAPL"] and "not tradable" in errors["message"].iloc[0]

    # a retry of the same plan sends nothing: SPY and QQQ are known, AAPL is refused again
    again = fast(plan, b)
    assert again.sent == 0 and alpaca_fake.orders_created == 2
    assert {o["client_order_id"] for o in alpaca_fake.orders} == {f"{plan.plan_id}-QQQ", f"{plan.plan_id}-SPY"}


def test_connection_dropped_mid_execution_retry_sends_nothing_twice(alpaca_fake):
    alpaca_fake.drop_on_order = 2  # the 2nd order arrives and fills, but its answer is lost
    b = broker(alpaca_fake)
    plan = plan_rebalance(signal(), b)
    rep = fast(plan, b, attempts=1)  # no retry inside: the lost answer is reported, not hidden
    assert rep.status == "partial" and len(rep.errors) == 1 and "BrokerUnavailable" in rep.errors[0]
    assert alpaca_fake.orders_created == 3  # the dropped one exists at the broker all the same
    # the status poll found it anyway: every order filled
    assert [o.status for o in rep.orders] == ["filled"] * 3
    retried = fast(plan, b)  # the user clicks Execute again
    assert retried.sent == 0 and retried.status == "complete"
    assert alpaca_fake.orders_created == 3
    cids = [o["client_order_id"] for o in alpaca_fake.orders]
    assert sorted(cids) == sorted(o.client_order_id for o in plan.orders)


def test_connection_dropped_is_retried_inside_one_execution(alpaca_fake):
    alpaca_fake.drop_on_order = 1
    b = broker(alpaca_fake)
    rep = fast(plan_rebalance(signal(), b), b)
    assert rep.status == "complete" and rep.sent == 2 and not rep.errors  # the first came back as "known"
    assert alpaca_fake.orders_created == 3 and alpaca_fake.order_posts == 3


def test_two_concurrent_executions_send_each_order_once(alpaca_fake):
    plan = plan_rebalance(signal(), broker(alpaca_fake))
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(fast(plan, broker(alpaca_fake)))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.sent for r in reports) == [0, 3]
    assert alpaca_fake.orders_created == 3 and alpaca_fake.order_posts == 3


def test_live_account_needs_the_typed_account_id(alpaca_fake, monkeypatch):
    monkeypatch.setenv("IVYBT_ALLOW_LIVE", "1")
    b = broker(alpaca_fake, live=True)
    plan = plan_rebalance(signal(), b)
    assert plan.is_live and plan.account_id == "PA3FAKE0001"
    # stale signal data would block a live account; this one is fresh for the injected "now"
    assert plan.approved, plan.checks_frame()
    for typed in (None, "", "PA3FAKE0002"):
        with pytest.raises(BrokerConfigError, match="LIVE account PA3FAKE0001: type the account id"):
            fast(plan, b, confirm=typed)
    assert alpaca_fake.order_posts == 0
    assert fast(plan, b, confirm="PA3FAKE0001").status == "complete"


def test_non_fractionable_assets_are_planned_in_whole_shares(alpaca_fake):
    alpaca_fake.not_fractionable = {"SPY"}
    b = broker(alpaca_fake)
    plan = plan_rebalance(signal(), b)
    per = Fraction(100_000, 3) * Fraction(999, 1000)
    assert plan.whole_shares == ("SPY",)
    assert plan.target_quantities["SPY"] == 66.0  # floor(33,300 / 500): no 66.6 for a non-fractionable asset
    assert plan.target_quantities["AAPL"] == pytest.approx(math.floor(per / 200 * 10**6) / 10**6)  # 166.5
    assert plan.target_quantities["AAPL"] != int(plan.target_quantities["AAPL"])
    assert {p for m, p in alpaca_fake.requests if p.startswith("/v2/assets/")} == {
        "/v2/assets/SPY",
        "/v2/assets/AAPL",
        "/v2/assets/QQQ",
    }
    rep = fast(plan, b)
    assert rep.status == "complete" and rep.sent == 3
    assert {o["symbol"]: float(o["qty"]) for o in alpaca_fake.orders}["SPY"] == 66.0


def test_market_closed_warns_in_the_plan(alpaca_fake):
    alpaca_fake.market_open = False
    plan = plan_rebalance(signal(), broker(alpaca_fake))
    check = plan.checks_frame().set_index("check").loc["market_hours"]
    assert check["status"] == "warn" and "the market is CLOSED" in check["message"]
    assert plan.approved  # a warning, not a block
    warned = AuditLog().events(plan_id=plan.plan_id, kind="check")["message"].tolist()
    assert any(m.startswith("market_hours WARN: the market is CLOSED") for m in warned)
    alpaca_fake.market_open = True
    again = plan_rebalance(signal(), broker(alpaca_fake)).checks_frame().set_index("check")
    assert again.loc["market_hours", "status"] == "pass"


def test_a_wrong_live_id_and_status_poll_failures_are_audited(alpaca_fake, monkeypatch):
    monkeypatch.setenv("IVYBT_ALLOW_LIVE", "1")
    live = broker(alpaca_fake, live=True)
    lplan = plan_rebalance(signal(), live)
    with pytest.raises(BrokerConfigError, match="got 'PA3FAKE0002'"):
        fast(lplan, live, confirm="PA3FAKE0002")
    (err,) = AuditLog().events(plan_id=lplan.plan_id, kind="error").itertuples()
    assert err.message.startswith("execution refused: BrokerConfigError: plan") and "LIVE account" in err.message
    assert alpaca_fake.order_posts == 0
    monkeypatch.delenv("IVYBT_ALLOW_LIVE")

    b = broker(alpaca_fake)
    plan = plan_rebalance(signal(), b)
    alpaca_fake.lookup_errors = 10_000  # every status poll of an existing order answers HTTP 500
    log = AuditLog()
    rep = fast(plan, b, log=log, attempts=1, timeout=0.3)
    assert alpaca_fake.orders_created == 3 and rep.status == "failed"
    assert [o.status for o in rep.orders] == ["unknown"] * 3
    errors = log.events(plan_id=plan.plan_id, kind="error")  # same account: the refusal above has this id too
    polls = errors[errors["payload"].map(lambda p: p.get("stage") == "poll")]
    assert sorted(polls["symbol"]) == ["AAPL", "QQQ", "SPY"] and len(errors) == 4  # once per order, not per poll
    assert all(
        m == "status poll failed: BrokerUnavailable: alpaca order lookup: internal server error (HTTP 500)"
        for m in polls["message"]
    )

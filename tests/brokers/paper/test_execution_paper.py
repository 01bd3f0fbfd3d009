"""Signals -> plan -> execute -> reconcile on the PaperBroker (SQLite in tmp_path), with the audit log."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brokers.base import BrokerConfigError
from brokers.execution import execute_plan
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.planning import plan_rebalance
from engine.config import Costs
from engine.data.market import MarketData
from engine.ops.audit_log import AuditLog
from engine.ops.risk import RiskCheckFailed, RiskLimits, set_kill_switch
from engine.ops.signals import generate_signals
from engine.store.presets import Preset

PRICES = {"AAA": 100.0, "BBB": 40.0, "CCC": 25.0}
NOW = "2024-03-11 15:00"


def market(symbols=("AAA", "BBB", "CCC"), n=30) -> MarketData:
    idx = pd.bdate_range(end="2024-03-08", periods=n)
    return MarketData.from_frames(
        {
            s: pd.DataFrame(
                {"open": PRICES[s], "high": PRICES[s], "low": PRICES[s], "close": np.full(n, PRICES[s]), "volume": 1e6},
                index=idx,
            )
            for s in symbols
        }
    )


COSTS = {"commission_bps": 10, "slippage_bps": 5}  # the paper broker's costs below


def signal(symbols=("AAA", "BBB", "CCC"), log=None, **preset):
    p = Preset(name="ops", strategy="buy_and_hold", symbols=symbols, **{"costs": COSTS, **preset})
    return generate_signals(p, data=market(symbols), now=NOW, log=log)


@pytest.fixture
def paper(tmp_path):
    return PaperBroker(
        tmp_path / "paper.db",
        initial_cash=30_000.0,
        price_source=StaticPrices(PRICES),
        costs=Costs(commission_bps=10, slippage_bps=5),
    )


def test_full_flow_fills_reconciles_and_audits(paper):
    log = AuditLog()
    sig = signal(log=log)
    plan = plan_rebalance(sig, paper, log=log)
    assert plan.approved, plan.checks_frame()
    # by hand: each third of 30,000 less the 0.1% buffer, over price x (1.001 x 1.0005)
    per = 10_000 * 0.999 / 1.0015005
    assert plan.target_quantities == {s: pytest.approx(np.trunc(per / PRICES[s] * 1e6) / 1e6, abs=1e-9) for s in PRICES}
    rep = execute_plan(plan, paper, log=log)
    assert rep.status == "complete" and rep.sent == 3 and not rep.errors
    assert set(rep.reconciliation["status"]) == {"ok"}
    held = {p.symbol: p.quantity for p in paper.positions()}
    assert held == pytest.approx(plan.target_quantities)
    # paper fills at price x (1 + 5 bps): slippage vs the plan's reference price is +5 bps on every buy
    assert [o.slippage_bps for o in rep.orders] == pytest.approx([5.0, 5.0, 5.0])
    assert paper.account().cash >= 0
    kinds = log.events(plan_id=plan.plan_id)["kind"].tolist()
    for k in ("plan", "execute", "order", "ack", "fill", "reconcile"):
        assert k in kinds
    q = log.order_results(plan_id=plan.plan_id)
    assert list(q["status"]) == ["filled"] * 3 and q["slippage_bps"].tolist() == pytest.approx([5.0] * 3)
    assert (log.plan(plan.plan_id) or {}).get("status") == "complete"


def test_second_click_reload_and_restart_send_nothing_twice(paper, tmp_path):
    plan = plan_rebalance(signal(), paper)
    first = execute_plan(plan, paper)
    again = execute_plan(plan, paper)  # a second click
    assert first.sent == 3 and again.sent == 0 and again.status == "complete"
    # a "reload": a new broker object on the same database (a process restart) and the plan made again
    reborn = PaperBroker(tmp_path / "paper.db", initial_cash=1.0, price_source=StaticPrices(PRICES))
    assert {p.symbol: p.quantity for p in reborn.positions()} == {p.symbol: p.quantity for p in paper.positions()}
    assert reborn.account().account_id == paper.account().account_id
    replanned = plan_rebalance(signal(), reborn)
    assert replanned.plan_id == plan.plan_id
    # the fees lowered equity a little, so the new plan has small sells, with the SAME client order ids
    assert {o.client_order_id for o in replanned.orders} <= {o.client_order_id for o in plan.orders}
    assert execute_plan(replanned, reborn).sent == 0
    assert len(reborn.orders("all")) == 3


def test_sells_go_first_then_buys(paper):
    sig1 = signal(symbols=("AAA",))
    execute_plan(plan_rebalance(sig1, paper), paper)
    log = AuditLog()
    sig2 = generate_signals(
        Preset(name="ops", strategy="buy_and_hold", symbols=("BBB", "CCC", "AAA"), costs=COSTS),
        data=market(),
        now="2024-03-12 15:00",
        log=log,
    )
    plan = plan_rebalance(sig2, paper, log=log)
    assert [o.side for o in plan.orders] == ["sell", "buy", "buy"]
    rep = execute_plan(plan, paper, log=log)
    assert rep.status == "complete"
    submits = log.events(plan_id=plan.plan_id, kind="order").iloc[::-1]["symbol"].tolist()
    assert submits == ["AAA", "BBB", "CCC"]  # the sell of AAA before the buys it pays for


def test_two_concurrent_executions_send_each_order_once(paper, tmp_path):
    plan = plan_rebalance(signal(), paper)
    reports, errors = [], []

    def run():
        try:
            b = PaperBroker(
                tmp_path / "paper.db", price_source=StaticPrices(PRICES), costs=Costs(commission_bps=10, slippage_bps=5)
            )
            reports.append(execute_plan(plan, b))
        except Exception as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(r.sent for r in reports) == [0, 3]
    assert len(paper.orders("all")) == 3 and len(paper.fills()) == 3


def test_two_processes_execute_one_plan_each_order_once(paper, tmp_path):
    plan = plan_rebalance(signal(), paper)
    code = (
        "import sys, pickle\n"
        "from brokers.paper.adapter import PaperBroker\n"
        "from brokers.paper.prices import StaticPrices\n"
        "from brokers.execution import execute_plan\n"
        "plan = pickle.load(open(sys.argv[1], 'rb'))\n"
        f"b = PaperBroker(sys.argv[2], price_source=StaticPrices({PRICES!r}))\n"
        "print(execute_plan(plan, b).sent)\n"
    )
    import pickle

    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(plan))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "plan.pkl"), str(tmp_path / "paper.db")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[3],
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert sorted(int(o[0].strip()) for o in outs) == [0, 3]
    assert len(paper.orders("all")) == 3


def test_blocked_plan_and_kill_switch_refuse_execution(paper):
    blocked = plan_rebalance(signal(), paper, limits=RiskLimits(max_order_notional=1_000.0))
    assert not blocked.approved
    with pytest.raises(RiskCheckFailed, match="max_order_notional"):
        execute_plan(blocked, paper)
    ok = plan_rebalance(signal(), paper)
    set_kill_switch(True, "manual stop")
    with pytest.raises(RiskCheckFailed, match="kill switch is ON: manual stop"):
        execute_plan(ok, paper)
    replanned = plan_rebalance(signal(), paper)
    assert [c.name for c in replanned.failed_checks] == ["kill_switch"]
    set_kill_switch(False)
    assert execute_plan(ok, paper).status == "complete"
    assert paper.orders("all") and AuditLog().events(kind="kill_switch").shape[0] == 1


def test_daily_loss_limit_tripped_blocks_execution(paper):
    log = AuditLog()
    acct = paper.account()
    log.record_equity("paper", acct.account_id, acct.equity * 1.06)  # earlier today: 6% higher
    plan = plan_rebalance(signal(), paper, log=log)
    (failed,) = plan.failed_checks
    assert failed.name == "daily_loss" and "daily loss limit tripped" in failed.message
    with pytest.raises(RiskCheckFailed, match="daily_loss"):
        execute_plan(plan, paper, log=log)
    assert paper.orders("all") == []


def test_plan_for_another_broker_is_refused(paper, alpaca_fake):
    from brokers.alpaca.adapter import AlpacaBroker

    plan = plan_rebalance(signal(), paper)
    other = AlpacaBroker(alpaca_fake.key, alpaca_fake.secret, base_url=alpaca_fake.url, data_url=alpaca_fake.url)
    with pytest.raises(BrokerConfigError, match="made for broker 'paper'"):
        execute_plan(plan, other)


def test_failing_webhook_does_not_block_and_a_working_one_gets_the_result(paper):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    plan = plan_rebalance(signal(), paper)
    rep = execute_plan(plan, paper, webhook=dead)
    assert rep.status == "complete" and rep.notified is False
    notes = AuditLog().events(kind="notify")
    assert notes["message"].iloc[0].startswith("webhook FAILED")

    from tests.engine.test_notify import Receiver

    with Receiver() as r:
        rep2 = execute_plan(plan, paper, webhook=r.url)
    assert rep2.notified is True
    body = r.posts[0][2]
    assert "COMPLETE" in body["text"] and plan.plan_id in body["content"]


def test_replanning_after_fills_is_already_executed_and_sends_nothing(paper):
    log = AuditLog()
    plan = plan_rebalance(signal(), paper, log=log)
    assert execute_plan(plan, paper, log=log).status == "complete"
    recorded = log.order_results(plan_id=plan.plan_id)
    held = {p.symbol: p.quantity for p in paper.positions()}
    # the fees lowered equity, so the same signal planned again asks for small sells under the same ids
    replanned = plan_rebalance(signal(), paper, log=log)
    assert replanned.plan_id == plan.plan_id and [o.side for o in replanned.orders] == ["sell"] * 3
    rep = execute_plan(replanned, paper, log=log)
    # the plan completed before: it is "already executed" (its first orders, looked up by id), nothing is sent
    assert rep.already_executed and rep.sent == 0 and rep.status == "complete" and not rep.errors
    assert rep.summary().startswith(f"plan {plan.plan_id} on paper: already executed, COMPLETE; 3/3 filled")
    assert [(o.side, o.quantity, o.status) for o in rep.orders] == [(o.side, o.quantity, "filled") for o in plan.orders]
    assert set(rep.reconciliation["status"]) == {"ok"}
    # nothing sent, the first orders' recorded results (quantities, slippage) are untouched, no error logged
    assert len(paper.orders("all")) == 3 and {p.symbol: p.quantity for p in paper.positions()} == held
    after = log.order_results(plan_id=plan.plan_id)  # (the lookup refreshed their updated_at only)
    pd.testing.assert_frame_equal(after.drop(columns="updated_at"), recorded.drop(columns="updated_at"))
    assert after["slippage_bps"].tolist() == pytest.approx([5.0] * 3) and set(after["side"]) == {"buy"}
    assert log.events(plan_id=plan.plan_id, kind="error").empty


def test_an_id_the_broker_knows_for_another_order_is_a_mismatch(paper, tmp_path):
    plan = plan_rebalance(signal(), paper)
    assert execute_plan(plan, paper).status == "complete"
    held = {p.symbol: p.quantity for p in paper.positions()}
    # another workspace (no record of the first execution) plans the same signal: small sells under the same ids
    other = AuditLog(tmp_path / "other.db")
    replanned = plan_rebalance(signal(), paper, log=other)
    assert replanned.plan_id == plan.plan_id and [o.side for o in replanned.orders] == ["sell"] * 3
    rep = execute_plan(replanned, paper, log=other)
    assert rep.sent == 0 and rep.status == "failed" and not rep.already_executed
    assert [o.status for o in rep.orders] == ["mismatch"] * 3
    assert len(rep.errors) == 3
    sell = replanned.orders[0]
    assert f"already used at the broker by buy {held[sell.symbol]:g}" in rep.errors[0]
    assert f"not the planned sell {sell.quantity:g}" in rep.errors[0]
    assert len(paper.orders("all")) == 3 and {p.symbol: p.quantity for p in paper.positions()} == held
    errs = other.events(plan_id=plan.plan_id, kind="error")
    assert len(errs) == 3 and {e["planned_side"] for e in errs["payload"]} == {"sell"}
    assert {e["broker_side"] for e in errs["payload"]} == {"buy"}


def test_a_reconciliation_residual_beyond_the_tolerance_is_never_complete(paper):
    plan = plan_rebalance(signal(), paper)
    assert execute_plan(plan, paper).status == "complete"
    from brokers.base import OrderRequest

    paper.submit(OrderRequest("CCC", 0.5, "sell", client_order_id="manual-CCC"))  # sold by hand: 12.50
    again = execute_plan(plan, paper)  # every order of the plan is known and filled ...
    assert again.already_executed and again.sent == 0 and [o.status for o in again.orders] == ["filled"] * 3
    recon = again.reconciliation.set_index("symbol")  # ... CCC is 0.5 short: within 1 unit and 50 of notional
    assert recon.loc["CCC", "residual"] == pytest.approx(0.5) and recon.loc["CCC", "status"] == "ok"
    assert again.status == "complete"
    paper.submit(OrderRequest("BBB", 10, "sell", client_order_id="manual-BBB"))  # 10 x 40 = 400: beyond it
    again = execute_plan(plan, paper)
    assert again.sent == 0 and [o.status for o in again.orders] == ["filled"] * 3
    recon = again.reconciliation.set_index("symbol")  # ... but BBB is 10 short of its target
    assert recon.loc["BBB", "residual"] == pytest.approx(10.0) and recon.loc["AAA", "status"] == "ok"
    assert recon.loc["BBB", "status"] == "residual" and again.status == "partial"


def test_planning_errors_and_refused_executions_are_audited(paper, tmp_path):
    log = AuditLog()
    no_ccc = PaperBroker(tmp_path / "paper.db", price_source=StaticPrices({"AAA": 100.0, "BBB": 40.0}))
    from brokers.base import PriceUnavailable

    with pytest.raises(PriceUnavailable, match="CCC"):
        plan_rebalance(signal(), no_ccc, log=log)
    (err,) = log.events(kind="error").itertuples()
    assert err.payload == {"stage": "plan", "preset": "ops", "broker": "paper", "error": "PriceUnavailable"}
    assert "planning ops on paper failed: PriceUnavailable" in err.message and "CCC" in err.message

    blocked = plan_rebalance(signal(), paper, log=log, limits=RiskLimits(max_order_notional=1_000.0))
    with pytest.raises(RiskCheckFailed):
        execute_plan(blocked, paper, log=log)
    set_kill_switch(True, "audit me")
    ok = plan_rebalance(signal(), paper, log=log, limits=RiskLimits())
    with pytest.raises(RiskCheckFailed, match="audit me"):
        execute_plan(ok, paper, log=log)
    set_kill_switch(False)
    ok = plan_rebalance(signal(), paper, log=log)
    assert log.acquire_lease(ok.plan_id, "another-session", 60.0)  # someone else is executing it
    from brokers.execution import PlanBusy

    with pytest.raises(PlanBusy):
        execute_plan(ok, paper, log=log, lease_wait=0.2)
    refused = log.events(kind="error")
    refused = refused[refused["payload"].map(lambda p: p.get("stage") == "execute")].iloc[::-1]
    assert [p["error"] for p in refused["payload"]] == ["RiskCheckFailed", "RiskCheckFailed", "PlanBusy"]
    assert "max_order_notional" in refused["message"].iloc[0] and "audit me" in refused["message"].iloc[1]
    assert "being executed by another session" in refused["message"].iloc[2]
    assert paper.orders("all") == []

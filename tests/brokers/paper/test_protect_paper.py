"""Protective orders through the whole rebalance on the real PaperBroker (SQLite in tmp_path): signals -> plan ->
execute, then the OCO / stop / trailing stop each position holds, resized, cancelled, triggered on the bars, and
the reconciliation with its repair. Expected prices are computed here from the position's avg_price."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from brokers.base import OrderRequest
from brokers.execution import execute_plan
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars, StaticPrices
from brokers.planning import plan_rebalance
from brokers.protect import PREFIX, protection_report
from brokers.protect_repair import repair
from engine.config import Costs, Risk
from engine.data.market import MarketData
from engine.ops.audit_log import AuditLog
from engine.ops.risk import RiskCheckFailed
from engine.ops.signals import generate_signals
from engine.store.presets import Preset

PRICES = {"AAA": 100.0, "BBB": 40.0}
NOW = "2024-03-11 15:00"
SL, TP = 0.05, 0.10
IDX = pd.bdate_range(end="2024-03-08", periods=30)


def flat(price: float, idx: pd.DatetimeIndex = IDX) -> pd.DataFrame:
    return pd.DataFrame({"open": price, "high": price, "low": price, "close": price, "volume": 1e6}, index=idx)


def signal(risk: dict, **preset):
    data = MarketData.from_frames({s: flat(p) for s, p in PRICES.items()})
    p = Preset(name="prot", strategy="buy_and_hold", symbols=tuple(PRICES), risk=risk, **preset)
    return generate_signals(p, data=data, now=NOW, record=False)


@pytest.fixture
def bars():
    return StaticBars({s: flat(p)[["open", "high", "low", "close"]] for s, p in PRICES.items()})


@pytest.fixture
def paper(tmp_path, bars):
    return PaperBroker(
        tmp_path / "paper.db",
        initial_cash=100_000.0,
        price_source=StaticPrices(PRICES),
        bar_source=bars,
        costs=Costs(commission_bps=10, slippage_bps=5),
    )


def status(broker: PaperBroker, cid: str) -> str:
    """The state of the order with this client_order_id (it must exist)."""
    st = broker.order(cid)
    assert st is not None, cid
    return st.status


def run(sig, broker, log):
    plan = plan_rebalance(sig, broker, log=log)
    assert plan.approved, plan.checks_frame()
    return plan, execute_plan(plan, broker, log=log, timeout=5.0, poll_interval=0.01)


def ours(broker):
    """Open protective orders (top level) by symbol, and the open OCO stop legs by parent id."""
    open_orders = broker.orders("open")
    top = {o.symbol: o for o in open_orders if o.client_order_id.startswith(PREFIX) and not o.parent_id}
    assert len(top) == len([o for o in open_orders if o.client_order_id.startswith(PREFIX) and not o.parent_id])
    return top, {o.parent_id: o for o in open_orders if o.parent_id}


def assert_oco(broker, symbol):
    """The symbol's protective order is one OCO: limit avg x (1 + TP), stop avg x (1 - SL), position's size."""
    pos = {p.symbol: p for p in broker.positions()}[symbol]
    top, legs = ours(broker)
    oco = top[symbol]
    assert (oco.order_class, oco.side, oco.time_in_force) == ("oco", "sell", "gtc")
    assert oco.quantity == pytest.approx(pos.quantity, abs=1e-9)
    assert oco.limit_price == round(pos.avg_price * (1 + TP), 2)
    assert legs[oco.id].stop_price == round(pos.avg_price * (1 - SL), 2)
    assert legs[oco.id].quantity == pytest.approx(pos.quantity, abs=1e-9)
    return oco


def test_rebalance_protects_each_position_with_one_oco_and_a_rerun_sends_nothing(paper):
    log = AuditLog()
    sig = signal({"stop_loss": SL, "take_profit": TP})
    assert sig.take_profits == {"AAA": TP, "BBB": TP} and sig.protection == {"stop_loss": SL, "take_profit": TP}
    plan, rep = run(sig, paper, log)
    assert plan.take_profits == {"AAA": TP, "BBB": TP}
    assert {c.name: c.status for c in plan.checks}["protection"] == "pass"
    assert rep.status == "complete", rep.errors
    assert sorted(s["action"] for s in rep.protection) == ["place", "place"]
    # the paper fill is the price plus 5 bps slippage: the avg_price the protective prices come from
    for sym, px in PRICES.items():
        assert {p.symbol: p for p in paper.positions()}[sym].avg_price == pytest.approx(px * 1.0005)
        assert_oco(paper, sym)
    n_orders = len(paper.orders("all"))
    again = execute_plan(plan, paper, log=log, timeout=5.0, poll_interval=0.01)
    assert again.sent == 0 and again.protection == () and len(paper.orders("all")) == n_orders
    _, third = run(signal({"stop_loss": SL, "take_profit": TP}), paper, log)  # a fresh signal, same targets
    assert third.sent == 0 and third.protection == () and len(paper.orders("all")) == n_orders
    assert not protection_report(paper, Risk(stop_loss=SL, take_profit=TP)).problems
    kinds = log.events(limit=500)
    assert {"order", "ack"} <= set(kinds[kinds["message"].str.startswith("protect:")]["kind"])


def test_increase_renews_the_oco_and_a_stop_is_resized_in_place(paper):
    log = AuditLog()
    run(signal({"stop_loss": SL, "take_profit": TP, "max_position": 0.1}), paper, log)
    first = assert_oco(paper, "AAA")
    paper.price_source = StaticPrices({"AAA": 110.0, "BBB": 40.0})  # the add fills higher: the avg price moves
    _, rep = run(signal({"stop_loss": SL, "take_profit": TP, "max_position": 0.2}), paper, log)
    assert rep.status == "complete", rep.errors
    second = assert_oco(paper, "AAA")
    assert second.client_order_id != first.client_order_id  # an OCO changes both legs: cancelled, placed anew
    assert status(paper, first.client_order_id) == "canceled"
    pos = {p.symbol: p for p in paper.positions()}["AAA"]
    assert pos.avg_price > PRICES["AAA"] * 1.0005  # the protective prices followed the new avg_price


def test_stop_only_follows_the_position_through_replace_and_is_cancelled_on_close(paper):
    log = AuditLog()
    run(signal({"stop_loss": SL, "max_position": 0.1}), paper, log)
    top, _ = ours(paper)
    stop = top["AAA"]
    assert (stop.type, stop.order_class) == ("stop", "simple")
    run(signal({"stop_loss": SL, "max_position": 0.2}), paper, log)
    pos = {p.symbol: p for p in paper.positions()}["AAA"]
    after = paper.order(stop.client_order_id)  # resized in place: the same order
    assert after.status == "new" and after.quantity == pytest.approx(pos.quantity, abs=1e-9)
    assert after.quantity > stop.quantity and after.stop_price == round(pos.avg_price * (1 - SL), 2)
    # reduce, then close AAA: the stop shrinks before the sell, then is cancelled with the position
    sig = signal({"stop_loss": SL, "max_position": 0.2})
    plan, rep = run(replace(sig, targets={**sig.targets, "AAA": 0.05}), paper, log)
    held = {p.symbol: p.quantity for p in paper.positions()}
    assert paper.order(stop.client_order_id).quantity == pytest.approx(held["AAA"], abs=1e-9)
    assert held["AAA"] == pytest.approx(plan.target_quantities["AAA"], abs=1e-9)
    plan, rep = run(replace(sig, targets={**sig.targets, "AAA": 0.0}), paper, log)
    assert rep.status == "complete", rep.errors
    assert "AAA" not in {p.symbol for p in paper.positions()}
    assert status(paper, stop.client_order_id) == "canceled"
    assert "AAA" not in ours(paper)[0] and "BBB" in ours(paper)[0]


def test_a_stop_hit_on_the_bars_closes_the_position_and_cancels_the_take_profit(paper, bars):
    log = AuditLog()
    run(signal({"stop_loss": SL, "take_profit": TP}), paper, log)
    oco = assert_oco(paper, "BBB")
    stop = ours(paper)[1][oco.id].stop_price
    nxt = pd.bdate_range(start=IDX[-1] + pd.offsets.BDay(1), periods=1)
    drop = pd.DataFrame({"open": 39.0, "high": 39.5, "low": stop - 1.0, "close": 38.0}, index=nxt)
    bars.bars["BBB"] = pd.concat([bars.bars["BBB"], drop])
    assert "BBB" not in {p.symbol for p in paper.positions()}
    leg = paper.order(oco.client_order_id + "/sl")
    assert leg.status == "filled" and leg.avg_fill_price == pytest.approx(stop * (1 - 5e-4))
    assert status(paper, oco.client_order_id) == "canceled"
    assert not protection_report(paper, Risk(stop_loss=SL, take_profit=TP)).problems


def test_reconciliation_finds_a_deleted_stop_and_an_orphan_and_repair_fixes_both(paper):
    log = AuditLog()
    run(signal({"stop_loss": SL}), paper, log)
    top, _ = ours(paper)
    paper.cancel(top["AAA"].id)  # deleted by hand
    bbb = {p.symbol: p for p in paper.positions()}["BBB"]
    paper.submit(OrderRequest("BBB", bbb.quantity, "sell", client_order_id="manual-close"))  # its stop: an orphan
    risk = Risk(stop_loss=SL)
    rep = protection_report(paper, risk, ["AAA", "BBB"])
    assert sorted((r.symbol, r.status, r.action) for r in rep.problems) == [
        ("AAA", "missing", "place"),
        ("BBB", "orphan", "cancel"),
    ]
    steps = repair(paper, rep, log=log, sleep=lambda s: None)
    n_orders = len(paper.orders("all"))
    stale = repair(paper, rep, log=log, sleep=lambda s: None)  # the same report again: nothing is sent twice
    assert len(paper.orders("all")) == n_orders
    assert [s.message.endswith("nothing sent") for s in stale if s.action == "place"] == [True]
    assert sorted((s.symbol, s.action, s.ok) for s in steps) == [("AAA", "place", True), ("BBB", "cancel", True)]
    assert status(paper, top["BBB"].client_order_id) == "canceled"
    aaa = {p.symbol: p for p in paper.positions()}["AAA"]
    new = ours(paper)[0]["AAA"]
    assert new.client_order_id != top["AAA"].client_order_id  # the next generation of the same id
    assert new.client_order_id[:-1] == top["AAA"].client_order_id[:-1]
    assert new.stop_price == round(aaa.avg_price * (1 - SL), 2) and new.quantity == pytest.approx(aaa.quantity)
    assert not protection_report(paper, risk, ["AAA", "BBB"]).problems
    assert repair(paper, protection_report(paper, risk), log=log) == []  # nothing left: nothing sent


def test_a_flip_to_short_gets_its_protection_on_the_other_side(tmp_path, bars):
    paper = PaperBroker(
        tmp_path / "s.db", price_source=StaticPrices(PRICES), bar_source=bars, costs=Costs(), allow_short=True
    )
    log = AuditLog()
    sig = signal({"stop_loss": SL, "take_profit": TP, "max_position": 0.1})
    run(sig, paper, log)
    long_oco = assert_oco(paper, "AAA")
    _, rep = run(replace(sig, targets={**sig.targets, "AAA": -0.1}), paper, log)
    assert rep.status == "complete", rep.errors
    pos = {p.symbol: p for p in paper.positions()}["AAA"]
    assert pos.quantity < 0
    top, legs = ours(paper)
    short = top["AAA"]
    assert status(paper, long_oco.client_order_id) == "canceled"
    assert (short.side, short.order_class) == ("buy", "oco")
    assert short.limit_price == round(pos.avg_price * (1 - TP), 2)
    assert legs[short.id].stop_price == round(pos.avg_price * (1 + SL), 2)
    assert short.quantity == pytest.approx(-pos.quantity)


def test_trailing_stop_is_held_instead_of_the_stop_loss_and_the_take_profit(paper):
    sig = signal({"stop_loss": 0.05, "take_profit": 0.2, "trailing_stop": 0.08})
    plan, rep = run(sig, paper, AuditLog())
    check = {c.name: c for c in plan.checks}["protection"]
    assert check.status == "warn" and "trailing_stop 0.08" in check.message and "take_profit 0.2" in check.message
    top, _ = ours(paper)
    for sym in PRICES:
        t = top[sym]
        assert (t.type, t.side, t.trail_percent) == ("trailing_stop", "sell", pytest.approx(8.0))
        assert t.quantity == pytest.approx({p.symbol: p.quantity for p in paper.positions()}[sym])
    # the preset's trail tightened to 5 %: the trailing stops are changed in place (same ids)
    rep = protection_report(paper, Risk(trailing_stop=0.05))
    assert sorted((r.symbol, r.status, r.action) for r in rep.problems) == [
        ("AAA", "wrong_price", "resize"),
        ("BBB", "wrong_price", "resize"),
    ]
    assert all(s.ok and s.action == "resize" for s in repair(paper, rep, log=AuditLog()))
    after = ours(paper)[0]
    assert {s: (o.client_order_id, o.trail_percent) for s, o in after.items()} == {
        s: (top[s].client_order_id, pytest.approx(5.0)) for s in PRICES
    }


def test_a_venue_without_oco_refuses_the_plan_before_anything_is_sent(paper):
    paper.capabilities = replace(paper.capabilities, order_classes=("simple",))  # a venue declaring no OCO
    log = AuditLog()
    plan = plan_rebalance(signal({"stop_loss": SL, "take_profit": TP}), paper, log=log)
    check = {c.name: c for c in plan.checks}["protection"]
    assert check.status == "fail" and "'oco' is not supported" in check.message
    with pytest.raises(RiskCheckFailed):
        execute_plan(plan, paper, log=log)
    assert paper.orders("all") == [] and paper.positions() == []
    assert np.isclose(paper.account().cash, 100_000.0)

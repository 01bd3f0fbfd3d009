"""Protective orders from a preset on Alpaca (the REAL alpaca-py client against FakeAlpacaServer): Alpaca takes
OCO / stop orders in whole shares only, so a plan that will be protected is made in whole shares there, and each
position ends with one OCO (take-profit limit + stop leg) of its full quantity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.execution import execute_plan
from brokers.planning import plan_rebalance
from brokers.protect import PREFIX
from engine.data.market import MarketData
from engine.ops.audit_log import AuditLog
from engine.ops.signals import generate_signals
from engine.store.presets import Preset
from tests.brokers.flat_signal import PRICES
from tests.brokers.flat_signal import signal as unprotected_signal

SL, TP = 0.03, 0.09  # risk sizing (1 % / 3 %) does not cap: the targets stay fractional unless rounded


def protected_signal():
    idx = pd.bdate_range(end="2024-03-08", periods=30)
    frames = {
        s: pd.DataFrame({"open": p, "high": p, "low": p, "close": np.full(30, p), "volume": 1e6}, index=idx)
        for s, p in PRICES.items()
    }
    preset = Preset(
        name="prot", strategy="buy_and_hold", symbols=tuple(PRICES), risk={"stop_loss": SL, "take_profit": TP}
    )
    return generate_signals(preset, data=MarketData.from_frames(frames), now="2024-03-11 15:00", record=False)


def broker(fake):
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5)


def test_a_protected_plan_is_whole_shares_and_each_position_holds_one_oco(alpaca_fake):
    b = broker(alpaca_fake)
    plain = plan_rebalance(unprotected_signal(), b)
    assert any(q != math.floor(q) for q in plain.target_quantities.values())  # fractions without protection

    plan = plan_rebalance(protected_signal(), b)
    assert plan.approved, plan.checks_frame()
    assert all(q == math.floor(q) and q > 0 for q in plan.target_quantities.values())
    report = execute_plan(plan, b, log=AuditLog(), timeout=2.0, poll_interval=0.05)
    assert report.status == "complete", report.summary()

    held = {p.symbol: p for p in b.positions()}
    assert {s: p.quantity for s, p in held.items()} == plan.target_quantities
    ours = [o for o in b.orders("open") if o.client_order_id.startswith(PREFIX) and not o.parent_id]
    assert sorted(o.symbol for o in ours) == sorted(PRICES)
    legs = {o.parent_id: o for o in b.orders("open") if o.parent_id}
    for o in ours:
        avg = held[o.symbol].avg_price
        assert (o.order_class, o.side, o.quantity) == ("oco", "sell", held[o.symbol].quantity)
        assert o.limit_price == pytest.approx(round(avg * (1 + TP), 2))
        assert legs[o.id].stop_price == pytest.approx(round(avg * (1 - SL), 2))

    posted = alpaca_fake.order_posts
    again = execute_plan(plan, b, log=AuditLog(), timeout=2.0, poll_interval=0.05)
    assert again.already_executed and alpaca_fake.order_posts == posted  # nothing sent twice

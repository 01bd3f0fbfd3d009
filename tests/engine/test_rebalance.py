"""The rebalance plan, checked against hand-worked quantities."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError, DataError
from engine.ops.rebalance import build_plan, make_plan_id, round_quantity, target_quantity

BASE = dict(preset="demo", data_timestamp="2024-03-08", broker="paper", account_id="PAPER-1")


def plan(**kw):
    args = {
        **BASE,
        "equity": 10_000.0,
        "cash": 8_000.0,
        "cash_buffer": 0.0,
        "targets": {"A": 0.5, "B": 0.3, "C": 0.0},
        "prices": {"A": 100.0, "B": 33.0, "C": 10.0, "X": 50.0},
        "positions": {"A": 10.0, "C": 20.0, "X": 5.0},
        **kw,
    }
    return build_plan(**args)


def test_whole_shares_hand_worked():
    p = plan(fractional=False)
    # A: 0.5 * 10000 / 100 = 50 -> buy 40; B: 0.3 * 10000 / 33 = 90.9 -> 90 -> buy 90; C: target 0 -> sell 20
    assert [(o.symbol, o.side, o.quantity) for o in p.orders] == [
        ("C", "sell", 20.0),
        ("A", "buy", 40.0),
        ("B", "buy", 90.0),
    ]
    assert p.target_quantities == {"A": 50.0, "B": 90.0, "C": 0.0}
    assert [o.client_order_id for o in p.orders] == [f"{p.plan_id}-C", f"{p.plan_id}-A", f"{p.plan_id}-B"]
    assert [o.notional for o in p.orders] == [200.0, 4000.0, 2970.0]
    assert p.unmanaged == {"X": 250.0}  # held, not in the preset: left alone
    lines = p.lines().set_index("symbol")
    assert lines.loc["B", "order_quantity"] == 90.0 and lines.loc["C", "side"] == "sell"


def test_fractional_rounds_toward_zero_to_six_decimals():
    p = plan(fractional=True)
    b = next(o for o in p.orders if o.symbol == "B")
    assert b.quantity == 90.909090  # 3000 / 33 = 90.9090909...
    assert round_quantity(-2.9999999, False) == -2.0 and round_quantity(2.9999999999, False) == 3.0
    assert round_quantity(1.23456789, True) == 1.234567


def test_sizing_keeps_costs_and_buffer_inside_the_budget():
    # w = 1, equity 10,000, price 100, costs 10 bps: 10000 / (100 * 1.001) = 99.9000999 units
    assert target_quantity(1.0, 10_000, 100.0, 10.0, True) == 99.900099
    # a 1% cash buffer: 9900 / 100.1 = 98.9010989
    assert target_quantity(1.0, 10_000, 100.0, 10.0, True, cash_buffer=0.01) == 98.901098
    # shorts: no fee budget, -0.5 * 10000 / 100 = -50
    assert target_quantity(-0.5, 10_000, 100.0, 10.0, False) == -50.0
    # the all-in buy really fits: quantity * price * (1 + costs) <= equity
    q = target_quantity(1.0, 10_000, 123.45, 7.0, True)
    assert q * 123.45 * 1.0007 <= 10_000 < (q + 1e-6) * 123.45 * 1.0007 + 1e-3


def test_orders_under_min_notional_are_skipped_with_the_reason():
    p = plan(fractional=True, positions={"A": 49.995, "C": 20.0}, min_notional=5.0)
    # A needs 0.005 more units = 0.50 of notional < 5
    assert "A" not in {o.symbol for o in p.orders}
    ((sym, reason),) = p.skipped
    assert sym == "A" and "under the minimum notional 5.00" in reason
    assert p.target_quantities["A"] == 49.995  # unchanged


def test_no_change_gives_no_order():
    p = plan(fractional=False, positions={"A": 50.0, "B": 90.0})
    assert p.orders == ()
    assert set(p.lines()["status"]) == {"no change"}


def test_plan_id_is_deterministic():
    a, b = plan(), plan(equity=12_345.0, positions={})
    assert a.plan_id == b.plan_id  # equity and positions do not change the id: a reload re-creates it
    assert a.plan_id == make_plan_id("demo", "2024-03-08", {"A": 0.5, "B": 0.3, "C": 0.0}, "paper", "PAPER-1")
    assert plan(targets={"A": 0.5, "B": 0.31, "C": 0.0}).plan_id != a.plan_id
    assert plan(data_timestamp="2024-03-11").plan_id != a.plan_id
    assert plan(preset="other").plan_id != a.plan_id
    assert len(f"{a.plan_id}-BRK-B") <= 64


def test_bad_inputs_name_the_problem():
    with pytest.raises(DataError, match=r"no valid price for \['B'\]"):
        plan(prices={"A": 100.0, "B": float("nan"), "C": 10.0})
    with pytest.raises(DataError, match="target weight"):
        plan(targets={"A": float("inf")})
    with pytest.raises(ConfigError, match="equity"):
        plan(equity=float("nan"))
    with pytest.raises(ConfigError, match="cash_buffer"):
        plan(cash_buffer=1.5)

"""The seed risk rules in the plan checks: consecutive losses (kill switch), risk-per-trade sizing, reward:risk."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.alerts import Inbox
from engine.errors import ConfigError
from engine.ops.audit_log import AuditLog
from engine.ops.rebalance import build_plan
from engine.ops.risk import (
    RiskCheckFailed,
    RiskLimits,
    check_plan,
    kill_switch_reason,
    require_approved,
    set_kill_switch,
)
from engine.ops.round_trips import closed_trades

NOW = pd.Timestamp("2024-03-08 15:00", tz="UTC").to_pydatetime()
pytestmark = pytest.mark.usefixtures("home")


def plan(targets, stops=None, take_profits=None, risk_per_trade=None, positions=None):
    return build_plan(
        preset="r",
        data_timestamp="2024-03-07",
        targets=targets,
        equity=100_000.0,
        cash=100_000.0,
        prices={"A": 100.0, "B": 50.0},
        positions=positions or {},
        broker="paper",
        account_id="P1",
        cash_buffer=0.0,
        stops=stops or {},
        take_profits=take_profits or {},
        risk_per_trade=risk_per_trade,
    )


def checks(p, **kw):
    return {c.name: c for c in check_plan(p, RiskLimits(), now=NOW, **kw)}


def test_risk_per_trade_caps_a_new_position_by_hand():
    # B: weight 0.4 of 100,000 at 50 = 800 units; stop 5% -> entry 50 - stop 47.50 = 2.50 per unit;
    # 1% of 100,000 = 1,000 at risk -> 1,000 / 2.50 = 400 units. A: 0.5 -> 500 units, stop 2% = 2.00 per unit,
    # 1,000 / 2 = 500 units: not capped.
    p = plan({"A": 0.5, "B": 0.4}, stops={"A": 0.02, "B": 0.05}, risk_per_trade=0.01)
    assert p.target_quantities == {"A": 500.0, "B": 400.0}
    assert {o.symbol: o.quantity for o in p.orders} == {"A": 500.0, "B": 400.0}
    c = checks(p)["risk_sizing"]
    assert c.status == "pass"
    assert "B: target 800 units capped to 400" in c.message
    assert "equity 100,000.00 / |entry 50.00 - stop 47.50| = 400.0000 units" in c.message
    assert checks(p)["per_trade_risk"].value == pytest.approx(0.01)  # 400 x 50 x 5% / 100,000


def test_new_position_without_a_stop_fails_naming_the_symbol():
    p = plan({"A": 0.3, "B": 0.3}, stops={"A": 0.02, "B": None}, risk_per_trade=0.01)
    c = checks(p)["risk_sizing"]
    assert c.status == "fail" and "['B'] have no stop" in c.message
    # no stop configured at all (a strategy without stops): the sizing cannot apply; a warning, as per_trade_risk
    assert checks(plan({"A": 0.3}, risk_per_trade=0.01))["risk_sizing"].status == "warn"


def test_reward_risk_refusal_names_the_numbers():
    # A long at 100: take-profit 3% = 103.00, stop 2% = 98.00 -> (103 - 100) / (100 - 98) = 1.50 < 2
    p = plan({"A": 0.1}, stops={"A": 0.02}, take_profits={"A": 0.03})
    c = checks(p)["reward_risk"]
    assert c.status == "fail" and c.value == pytest.approx(1.5) and c.limit == 2.0
    assert "A: reward:risk 1.50 = |take_profit 103.00 - entry 100.00| / |entry 100.00 - stop 98.00|" in c.message
    assert "below the minimum 2.00" in c.message
    with pytest.raises(RiskCheckFailed, match="reward_risk: order"):
        require_approved(p.with_checks(tuple(checks(p).values())))
    ok = plan({"A": 0.1}, stops={"A": 0.02}, take_profits={"A": 0.05})  # 5 / 2 = 2.5
    assert checks(ok)["reward_risk"].status == "pass"


def _fill(log, n, symbol, side, qty, price, when):
    pid = f"p{n}"
    log.record_plan(pid, "r", "paper", "P1", "2024-03-01", True, {})
    log.record_order_result(
        client_order_id=f"{pid}-{symbol}",
        plan_id=pid,
        broker="paper",
        symbol=symbol,
        side=side,
        quantity=qty,
        filled_quantity=qty,
        avg_fill_price=price,
        reference_price=price,
        slippage_bps=0.0,
        status="filled",
        filled_at=pd.Timestamp(when, tz="UTC"),
    )


def test_three_losing_round_trips_engage_the_kill_switch():
    log = AuditLog()
    script = [  # a win, then three losses (FIFO per symbol; A's second round trip is two lots)
        ("B", "buy", 10, 50.0),
        ("B", "sell", 10, 55.0),  # +50
        ("A", "buy", 10, 100.0),
        ("A", "sell", 10, 95.0),  # -50
        ("B", "buy", 4, 50.0),
        ("A", "buy", 5, 100.0),
        ("A", "buy", 5, 102.0),
        ("B", "sell", 4, 48.0),  # -8
        ("A", "sell", 10, 100.0),  # FIFO entry (5 x 100 + 5 x 102) / 10 = 101 -> -10
    ]
    for i, (sym, side, qty, px) in enumerate(script):
        _fill(log, i, sym, side, qty, px, f"2024-03-0{1 + i // 4} 15:{i:02d}")
    trades = closed_trades(log, "paper", "P1")
    assert list(trades["pnl"]) == pytest.approx([50.0, -50.0, -8.0, -10.0])
    p = plan({"A": 0.1}, stops={"A": 0.02}, risk_per_trade=0.01)
    c = checks(p, trades=trades)["consecutive_losses"]
    assert c.status == "fail" and c.value == 3 and c.limit == 3
    assert "3 consecutive losing trades (limit 3)" in c.message
    assert "A 10 @ 101.00 -> 100.00 (-10.00)" in c.message and "B 4 @ 50.00 -> 48.00 (-8.00)" in c.message
    assert kill_switch_reason() is None
    with pytest.raises(RiskCheckFailed, match="consecutive_losses"):
        require_approved(p.with_checks(tuple(checks(p, trades=trades).values())))
    reason = kill_switch_reason()
    assert reason is not None and reason.startswith("risk stop: 3 consecutive losing trades")
    assert "A 10 @ 101.00 -> 100.00 (-10.00)" in reason
    # two losses only: no stop
    assert checks(p, trades=trades.iloc[:3])["consecutive_losses"].status == "pass"
    set_kill_switch(False)


def test_limits_bounds_name_the_value():
    with pytest.raises(ConfigError, match="max_consecutive_losses: 0"):
        RiskLimits(max_consecutive_losses=0)
    with pytest.raises(ConfigError, match="risk_per_trade: 1.5"):
        RiskLimits(risk_per_trade=1.5)
    assert RiskLimits.from_dict({"max_consecutive_losses": None}).max_consecutive_losses is None


def test_a_daily_loss_past_the_limit_engages_the_kill_switch_with_the_numbers():
    p = plan({"A": 0.1})
    start = pd.Timestamp("2024-03-08 14:35", tz="UTC")  # 09:35 New York: the day's first snapshot
    history = pd.Series([106_000.0], index=[start])  # now 100,000: 1 - 100,000 / 106,000 = 5.66 % > 5 %
    c = checks(p, equity_history=history)["daily_loss"]
    assert c.status == "fail" and c.value == pytest.approx(1 - 100_000 / 106_000) and c.limit == 0.05
    assert kill_switch_reason() is None
    with pytest.raises(RiskCheckFailed, match="daily_loss"):
        require_approved(p.with_checks(tuple(checks(p, equity_history=history).values())))
    reason = kill_switch_reason()
    assert reason is not None and reason.startswith("risk stop: ") and c.message in reason
    (note,) = Inbox().list()
    assert (note.event, note.level, note.title) == ("risk_stop", "error", "Trading stopped: daily loss 5.66%")
    set_kill_switch(False)
    # within the limit: the plan passes and nothing is engaged
    ok = pd.Series([104_000.0], index=[start])
    assert checks(p, equity_history=ok)["daily_loss"].status == "pass"

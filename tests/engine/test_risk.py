"""Pre-trade risk checks: each limit blocks with its message; kill switch; limits file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.ops.rebalance import build_plan
from engine.ops.risk import (
    RiskCheckFailed,
    RiskLimits,
    check_plan,
    kill_switch_reason,
    load_limits,
    require_approved,
    set_kill_switch,
)

NOW = pd.Timestamp("2024-03-08 15:00", tz="UTC").to_pydatetime()  # 10:00 in New York


pytestmark = pytest.mark.usefixtures("home")  # a private workspace (tests/conftest.py)


def plan(targets, equity=100_000.0, positions=None, stops=None, stale=False, is_live=False, shorting=False):
    prices = {"A": 100.0, "B": 50.0, "X": 10.0}
    return build_plan(
        preset="r",
        data_timestamp="2024-03-07",
        targets=targets,
        equity=equity,
        cash=equity,
        prices=prices,
        positions=positions or {},
        broker="paper",
        account_id="P1",
        cash_buffer=0.0,
        stops=stops or {},
        stale=stale,
        is_live=is_live,
        shorting=shorting,
    )


def by_name(checks):
    return {c.name: c for c in checks}


def test_sound_plan_passes_every_check():
    p = plan({"A": 0.5, "B": 0.4}, stops={"A": 0.02, "B": 0.05})
    checks = by_name(check_plan(p, RiskLimits(), now=NOW))
    assert {c.status for c in checks.values()} == {"pass"}
    # per-trade risk by hand: A 500 units x 100 x 2% = 1000 = 1%; B 800 x 50 x 5% = 2000 = 2%
    assert checks["per_trade_risk"].value == pytest.approx(0.02)
    assert checks["gross_leverage"].value == pytest.approx(0.9)
    require_approved(p.with_checks(tuple(checks.values())))


def test_over_leveraged_plan_is_blocked():
    p = plan({"A": 0.9, "B": 0.6})
    checks = by_name(check_plan(p, RiskLimits(max_gross_leverage=1.0), now=NOW))
    assert checks["gross_leverage"].status == "fail"
    assert checks["gross_leverage"].value == pytest.approx(1.5)
    assert "gross leverage 1.500x exceeds the limit 1.000x" in checks["gross_leverage"].message
    blocked = p.with_checks(tuple(checks.values()))
    assert not blocked.approved
    with pytest.raises(RiskCheckFailed, match="gross_leverage: post-trade gross leverage 1.500x"):
        require_approved(blocked)


def test_unmanaged_holdings_count_in_gross_leverage():
    p = plan({"A": 0.9}, positions={"X": 2_000.0})  # X is worth 20,000 = 0.2 of equity, left alone
    checks = by_name(check_plan(p, RiskLimits(), now=NOW))
    assert checks["gross_leverage"].value == pytest.approx(1.1) and checks["gross_leverage"].status == "fail"


def test_weight_per_symbol_and_oversize_order_are_blocked():
    p = plan({"A": 0.6, "B": 0.2})
    checks = by_name(check_plan(p, RiskLimits(max_weight=0.5, max_order_notional=50_000), now=NOW))
    assert (
        checks["max_weight"].status == "fail"
        and "largest position (A) 60.00% exceeds the limit 50.00%" in checks["max_weight"].message
    )
    assert checks["max_order_notional"].status == "fail"
    assert (
        "largest order (buy 600 A) notional 60,000.00 exceeds the limit 50,000.00"
        in checks["max_order_notional"].message
    )


def test_per_trade_risk_over_three_percent_is_blocked_and_missing_stop_warns():
    p = plan({"A": 0.8}, stops={"A": 0.05})  # 80,000 x 5% = 4,000 = 4% of equity
    c = by_name(check_plan(p, RiskLimits(), now=NOW))["per_trade_risk"]
    assert (
        c.status == "fail" and c.value == pytest.approx(0.04) and "A: the loss at its stop would be 4.00%" in c.message
    )
    c = by_name(check_plan(plan({"A": 0.8}), RiskLimits(), now=NOW))["per_trade_risk"]
    assert c.status == "warn" and "no stop set for ['A']" in c.message
    # reducing a position adds no risk
    c = by_name(check_plan(plan({"A": 0.1}, positions={"A": 800.0}, stops={"A": 0.5}), RiskLimits(), now=NOW))[
        "per_trade_risk"
    ]
    assert c.status == "pass" and c.value == 0.0


def test_tripped_daily_loss_limit_blocks():
    history = pd.Series(
        [100_000.0, 98_000.0], index=pd.DatetimeIndex(["2024-03-08 14:31", "2024-03-08 14:45"], tz="UTC")
    )
    checks = by_name(
        check_plan(plan({"A": 0.5}, equity=94_000.0), RiskLimits(max_drawdown=None), equity_history=history, now=NOW)
    )
    c = checks["daily_loss"]
    assert c.status == "fail" and c.value == pytest.approx(0.06)
    assert "daily loss limit tripped: equity fell 6.00% today (from 100,000.00 to 94,000.00); limit 5.00%" == c.message
    # the same loss measured from yesterday's snapshot is not today's loss
    old = pd.Series([100_000.0], index=pd.DatetimeIndex(["2024-03-07 15:00"], tz="UTC"))
    c = by_name(check_plan(plan({"A": 0.5}, equity=96_000.0), RiskLimits(), equity_history=old, now=NOW))
    assert c["daily_loss"].status == "pass"
    assert c["drawdown"].status == "pass" and c["drawdown"].value == pytest.approx(0.04)


def test_drawdown_limit_blocks():
    history = pd.Series(
        [100_000.0, 110_000.0, 104_000.0], index=pd.DatetimeIndex(["2024-02-01", "2024-02-20", "2024-03-01"], tz="UTC")
    )
    c = by_name(check_plan(plan({"A": 0.5}, equity=101_000.0), RiskLimits(), equity_history=history, now=NOW))[
        "drawdown"
    ]
    assert c.status == "fail" and c.value == pytest.approx(1 - 101 / 110)
    assert "drawdown limit tripped" in c.message and "110,000.00" in c.message


def test_kill_switch_blocks_everything():
    assert kill_switch_reason() is None
    set_kill_switch(True, "broker outage, hands off")
    assert kill_switch_reason() == "broker outage, hands off"
    p = plan({"A": 0.1})
    checks = check_plan(p, RiskLimits(), kill_switch=kill_switch_reason(), now=NOW)
    with pytest.raises(RiskCheckFailed, match="kill_switch: kill switch is ON: broker outage, hands off"):
        require_approved(p.with_checks(checks))
    set_kill_switch(False)
    assert kill_switch_reason() is None


def test_stale_data_blocks_live_and_warns_paper():
    live = by_name(check_plan(plan({"A": 0.1}, stale=True, is_live=True), RiskLimits(), now=NOW))["data_fresh"]
    paper = by_name(check_plan(plan({"A": 0.1}, stale=True), RiskLimits(), now=NOW))["data_fresh"]
    allowed = by_name(
        check_plan(plan({"A": 0.1}, stale=True, is_live=True), RiskLimits(allow_stale_data=True), now=NOW)
    )["data_fresh"]
    assert (live.status, paper.status, allowed.status) == ("fail", "warn", "warn")


def test_short_targets_need_a_broker_that_shorts():
    checks = by_name(check_plan(plan({"A": -0.2}), RiskLimits(), now=NOW))
    assert checks["shorting"].status == "fail" and "['A']" in checks["shorting"].message
    assert by_name(check_plan(plan({"A": -0.2}, shorting=True), RiskLimits(), now=NOW))["shorting"].status == "pass"


def test_unchecked_plan_is_not_approved():
    with pytest.raises(RiskCheckFailed, match="have not been run"):
        require_approved(plan({"A": 0.1}))


def test_limits_file_and_bad_limits(tmp_path):
    from engine.store.workspace import workspace_dir

    assert load_limits() == RiskLimits()
    (workspace_dir() / "risk_limits.json").write_text(json.dumps({"daily_loss_limit": 0.02, "max_drawdown": None}))
    assert load_limits() == RiskLimits(daily_loss_limit=0.02, max_drawdown=None)
    (workspace_dir() / "risk_limits.json").write_text(json.dumps({"max_weigth": 0.2}))
    with pytest.raises(ConfigError, match="max_weigth"):
        load_limits()
    with pytest.raises(ConfigError, match="per_trade_risk: -1"):
        RiskLimits(per_trade_risk=-1)

"""Planning a signal on a broker's account: `plan_rebalance(signal, broker)`.

It reads the account (equity, cash, positions, latest prices, which symbols trade in fractions, the market
clock), builds the plan (engine.ops.rebalance, with the signal's stops and take-profits for the risk checks and
the preset's protective settings), runs the pre-trade checks (engine.ops.risk, plus brokers.protect's
"protection" check: can this venue hold the preset's protective orders) and stores plan and checks in the audit
log. A planning error (no price, no account) writes an audit `error` event and is raised.
"""

from __future__ import annotations

from datetime import datetime

from brokers.base import Broker, BrokerError, retry
from brokers.protect import protection_check
from engine.errors import EngineError
from engine.ops.audit_log import AuditLog
from engine.ops.rebalance import RebalancePlan, build_plan
from engine.ops.risk import RiskLimits, check_plan, kill_switch_reason, load_limits
from engine.ops.round_trips import closed_trades
from engine.ops.signals import SignalReport


def plan_rebalance(
    signal: SignalReport,
    broker: Broker,
    *,
    limits: RiskLimits | None = None,
    min_notional: float | None = None,
    cash_buffer: float = 0.001,
    log: AuditLog | None = None,
    now: datetime | None = None,
    record: bool = True,
) -> RebalancePlan:
    """Plan `signal` for the broker's account and run the risk checks (see module docstring).

    min_notional: smallest order value; default the broker's (BrokerCapabilities.min_notional). cash_buffer:
    fraction of equity kept out of long targets (engine.ops.rebalance). limits:
    default `engine.ops.risk.load_limits()` (workspace file or defaults). The account equity is recorded as a
    snapshot AFTER the checks read the history (the daily-loss and drawdown checks compare against it).
    Symbols the broker does not trade in fractions (`Broker.fractionable`) get whole units. A broker with a
    clock (`market_open()`, Alpaca) adds a market_hours warning when the market is closed. A broker or data
    error is written to the audit log as an `error` event and raised.
    """
    log = log if log is not None else AuditLog()
    try:
        plan = _make_plan(signal, broker, limits, min_notional, cash_buffer, log, now)
    except (BrokerError, EngineError) as e:
        log.event(
            "error",
            f"planning {signal.preset} on {broker.name} failed: {type(e).__name__}: {e}",
            payload={"stage": "plan", "preset": signal.preset, "broker": broker.name, "error": type(e).__name__},
        )
        raise
    if record:
        _record_plan(plan, log)
    return plan


def _whole_share_symbols(broker: Broker, symbols: list[str], protected: bool = False) -> list[str]:
    """Symbols the broker does not take fractions of (none asked when the account has no fractions at all);
    every symbol when the positions will hold protective orders the venue takes in whole shares only."""
    caps = broker.capabilities
    if protected and caps.fractional and not caps.fractional_protective:
        return sorted(symbols)
    ask = getattr(broker, "fractionable", None)
    if not caps.fractional or ask is None:
        return []
    flags = retry(lambda: ask(symbols))
    return sorted(s for s in symbols if not flags.get(s, True))


def _market_open(broker: Broker) -> bool | None:
    """The broker clock's answer, or None when the broker has no clock."""
    ask = getattr(broker, "market_open", None)
    return None if ask is None else bool(retry(ask))


def _make_plan(
    signal: SignalReport,
    broker: Broker,
    limits: RiskLimits | None,
    min_notional: float | None,
    cash_buffer: float,
    log: AuditLog,
    now: datetime | None,
) -> RebalancePlan:
    limits = limits if limits is not None else load_limits()
    acct = retry(broker.account)
    held = retry(broker.positions)
    symbols = list(signal.symbols)
    prices = retry(lambda: broker.latest_prices(symbols))
    caps = broker.capabilities
    plan = build_plan(
        preset=signal.preset,
        data_timestamp=signal.data_timestamp,
        targets=signal.targets,
        equity=acct.equity,
        cash=acct.cash,
        prices=prices,
        positions={p.symbol: p.quantity for p in held},
        position_values={p.symbol: p.market_value for p in held},
        broker=broker.name,
        account_id=acct.account_id,
        is_live=bool(broker.is_live or acct.is_live),
        fractional=caps.fractional,
        shorting=caps.shorting,
        min_notional=max(caps.min_notional, min_notional or 0.0),
        costs_bps=signal.costs_bps,
        stale=signal.stale,
        stops=signal.stops,
        take_profits=signal.take_profits,
        protection=signal.protection,
        signal_id=signal.signal_id,
        cash_buffer=cash_buffer,
        whole_shares=_whole_share_symbols(broker, symbols, protected=bool(signal.protection)),
        risk_per_trade=limits.risk_per_trade,
    )
    history = log.equity_history(broker.name, acct.account_id)
    checks = check_plan(
        plan,
        limits,
        equity_history=history,
        kill_switch=kill_switch_reason(),
        now=now,
        market_open=_market_open(broker),
        trades=closed_trades(log, broker.name, acct.account_id),
    )
    return plan.with_checks((*checks, protection_check(plan, caps, broker.name)))


def _record_plan(plan: RebalancePlan, log: AuditLog) -> None:
    log.record_equity(plan.broker, plan.account_id, plan.equity)
    log.record_plan(
        plan.plan_id, plan.preset, plan.broker, plan.account_id, plan.data_timestamp, plan.approved, plan.to_dict()
    )
    log.event(
        "plan",
        plan.summary(),
        plan_id=plan.plan_id,
        payload={"orders": [o.__dict__ for o in plan.orders], "skipped": plan.skipped},
    )
    for c in plan.checks:
        if c.status != "pass":
            log.event(
                "check",
                f"{c.name} {c.status.upper()}: {c.message}",
                plan_id=plan.plan_id,
                payload={"check": c.name, "status": c.status, "value": c.value, "limit": c.limit},
            )

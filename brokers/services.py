"""The daily-ops operations both front ends perform (the Daily Ops page and `ivybt broker|audit-log`), once each.

Each one does the work and writes its audit event, so the app and the CLI record the same thing; `origin`
("app" or "cli") says in the audit message which front end asked. Executing a plan is already one function for
both: `brokers.execution.execute_plan`.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from brokers.base import Account, Broker, BrokerError, retry
from brokers.paper.adapter import PaperBroker
from engine.alerts import alert
from engine.errors import ConfigError
from engine.ops.audit_log import AuditLog
from engine.ops.risk import kill_switch_reason, set_kill_switch

Origin = Literal["app", "cli"]


def broker_status(broker: Broker) -> dict[str, Any]:
    """Connection and account summary for display: never raises BrokerError, never includes secrets."""
    out: dict[str, Any] = {"broker": broker.name, "live": bool(broker.is_live), "connected": False}
    try:
        acct = retry(broker.account, attempts=2, backoff=0.2)
        positions = retry(broker.positions, attempts=2, backoff=0.2)
    except BrokerError as e:
        out["error"] = f"{type(e).__name__}: {e}"
        return out
    out.update(
        connected=True,
        account_id=acct.account_id,
        equity=acct.equity,
        cash=acct.cash,
        buying_power=acct.buying_power,
        currency=acct.currency,
        positions=len(positions),
        live=bool(broker.is_live or acct.is_live),
    )
    return out


def audit_signal_failure(preset: str, error: BaseException, origin: Origin = "app") -> None:
    """Record that computing the signals of `preset` failed (data, refresh or strategy error) and why."""
    AuditLog().event(
        "error",
        f"signals for {preset} failed ({origin}): {type(error).__name__}: {error}",
        payload={"stage": "signals", "preset": preset, "origin": origin, "error": type(error).__name__},
    )
    alert("stale_data", f"Signals for {preset} failed ({origin})", f"{type(error).__name__}: {error}")


def kill_switch_status() -> str | None:
    """The kill switch's reason while it is on, else None."""
    return kill_switch_reason()


def switch_kill_switch(on: bool, reason: str = "", origin: Origin = "app") -> str | None:
    """Turn the kill switch on (blocks every execution) or off, and audit who did it and why.

    Returns the kill switch's status afterwards (`kill_switch_status`).
    """
    set_kill_switch(on, reason)
    why = reason.strip()
    AuditLog().event(
        "kill_switch", f"kill switch turned {'ON' if on else 'OFF'} ({origin})" + (f": {why}" if why else "")
    )
    alert("kill_switch", f"Kill switch turned {'ON' if on else 'OFF'} ({origin})", why)
    return kill_switch_reason()


def reset_paper_account(
    cash: float | None = None, origin: Origin = "app", broker: PaperBroker | None = None
) -> Account:
    """Start the paper account over (new account id, no positions, orders or fills) and audit it.

    cash: the new starting cash (default: the account's initial cash). broker: the paper broker to reset
    (default: the workspace's). Returns the fresh account.
    """
    paper = broker if broker is not None else PaperBroker()
    new_id = paper.reset(cash)
    account = paper.account()
    AuditLog().event(
        "account",
        f"paper account reset ({origin}): new account {new_id}, cash {account.cash:,.2f}",
        payload={"broker": "paper", "account_id": new_id, "cash": account.cash},
    )
    return account


def audit_events(limit: int = 200, plan_id: str | None = None) -> pd.DataFrame:
    """The newest `limit` audit-log events, newest first (optionally of one plan); ConfigError if limit < 1."""
    if limit < 1:
        raise ConfigError(f"audit log: limit {limit} must be >= 1")
    return AuditLog().events(limit=limit, plan_id=plan_id)

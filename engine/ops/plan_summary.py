"""What executing a plan will do, in one line ("3 orders, $48,300, paper account X"), and what an execution of it
did, read back from the audit log: so the Daily Ops page can say both beside its Execute button, and keep the
button off once the plan ran, across reruns and reloads (the audit log, not the session, remembers it)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.ops.audit_log import AuditLog
from engine.ops.rebalance import RebalancePlan

EXECUTED = "complete"
"""The plan status after which executing again sends nothing (brokers.execution: "already executed")."""


@dataclass(frozen=True)
class PlanSummary:
    """Order count, buys and sells, gross notional (sum of |quantity x reference price|) and the account."""

    orders: int
    buys: int
    sells: int
    gross: float
    currency: str
    account: str

    def text(self) -> str:
        """E.g. "3 orders (1 sell, 2 buys), $48,300, paper account X"."""
        money = f"${self.gross:,.0f}" if self.currency == "USD" else f"{self.gross:,.0f} {self.currency}"
        sides = f" ({_count(self.sells, 'sell')}, {_count(self.buys, 'buy')})" if self.buys and self.sells else ""
        return f"{_count(self.orders, 'order')}{sides}, {money}, {self.account}"


def plan_summary(plan: RebalancePlan, currency: str = "USD") -> PlanSummary:
    """The summary of `plan`'s orders; `currency` is the account's (the plan's prices are in it)."""
    if plan.broker == "paper":
        account = f"paper account {plan.account_id}"
    elif plan.is_live:
        account = f"LIVE {plan.broker} account {plan.account_id}"
    else:
        account = f"{plan.broker} paper account {plan.account_id}"
    gross = sum(abs(o.quantity * o.reference_price) for o in plan.orders)
    return PlanSummary(len(plan.orders), len(plan.buys), len(plan.sells), float(gross), currency, account)


@dataclass(frozen=True)
class PlanOutcome:
    """How the last execution of a plan ended (plans table status) and its orders as the audit log has them."""

    plan_id: str
    status: str
    orders: pd.DataFrame

    @property
    def executed(self) -> bool:
        """True once an execution completed it: executing again would send nothing."""
        return self.status == EXECUTED

    def text(self) -> str:
        """E.g. "plan p1 executed: COMPLETE; 3/3 orders filled"."""
        filled = int((self.orders["status"] == "filled").sum()) if len(self.orders) else 0
        return f"plan {self.plan_id} executed: {self.status.upper()}; {filled}/{len(self.orders)} orders filled"


def plan_outcome(plan_id: str, log: AuditLog | None = None) -> PlanOutcome | None:
    """The outcome of `plan_id`'s execution, None when it never started executing (not stored, or "planned")."""
    log = log if log is not None else AuditLog()
    row = log.plan(plan_id)
    if row is None or row.get("status") == "planned":
        return None
    return PlanOutcome(plan_id, str(row["status"]), log.order_results(plan_id=plan_id))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

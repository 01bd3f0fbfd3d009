"""After an execution: each order's result with its fill quality, the account reconciled against the plan,
the execution's overall status and its report.

Fill quality: slippage_bps = (fill / reference - 1) x 1e4 for buys and (1 - fill / reference) x 1e4 for sells
(positive = worse than the reference). The reference is the price the plan was sized with: the broker's latest
price at planning time. The backtest assumes the next session's open; when a plan is made before the open on
the previous close, that reference is the bar the backtest decided on, and the measured slippage includes the
overnight gap (that is the gap between research and reality we want to see).

Residual tolerance (`ResidualTolerance`, the one setting): a residual is negligible when it is at most 1 unit
(share) AND worth at most 50 in the account currency at the plan's price (IVYBT_RESIDUAL_SHARES and
IVYBT_RESIDUAL_NOTIONAL override them). Such a residual is not a mismatch: a position that far from its target
reconciles "ok", and an order whose unfilled rest is that small counts as filled. Anything larger is still a
"residual" and the execution is not complete.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from brokers.base import Broker, BrokerConfigError, retry
from engine.ops.rebalance import RebalancePlan
from engine.settings import env_number

RESIDUAL_SHARES_ENV, RESIDUAL_NOTIONAL_ENV = "IVYBT_RESIDUAL_SHARES", "IVYBT_RESIDUAL_NOTIONAL"

RECON_COLUMNS: tuple[str, ...] = (
    "symbol",
    "target_quantity",
    "actual_quantity",
    "residual",
    "residual_value",
    "status",
)


@dataclass(frozen=True)
class ResidualTolerance:
    """How far from the plan a position or an order may end and still count as done (see module docstring):
    at most `shares` units and at most `notional` in the account currency."""

    shares: float = 1.0
    notional: float = 50.0

    def allows(self, quantity: float, price: float) -> bool:
        """True when a residual of `quantity` units at `price` is within the tolerance."""
        q = abs(float(quantity))
        return q <= self.shares + 1e-9 and q * abs(float(price)) <= self.notional + 1e-9

    def describe(self) -> str:
        return f"<= {self.shares:g} unit(s) and <= {self.notional:,.2f} notional"


def _env_number(name: str, default: float) -> float:
    return env_number(name, default, lambda v: 0.0 <= v < math.inf, "must be a number >= 0", error=BrokerConfigError)


def residual_tolerance() -> ResidualTolerance:
    """The tolerance in force: the defaults, or IVYBT_RESIDUAL_SHARES / IVYBT_RESIDUAL_NOTIONAL."""
    base = ResidualTolerance()
    return ResidualTolerance(
        _env_number(RESIDUAL_SHARES_ENV, base.shares), _env_number(RESIDUAL_NOTIONAL_ENV, base.notional)
    )


@dataclass(frozen=True)
class OrderResult:
    """What happened to one planned order. sent: this execution placed it (False: the broker already had it,
    or it was never accepted). slippage_bps: see module docstring (None without a fill)."""

    client_order_id: str
    symbol: str
    side: str
    quantity: float
    status: str
    filled_quantity: float
    avg_fill_price: float | None
    reference_price: float
    slippage_bps: float | None
    reason: str = ""
    sent: bool = False
    broker_order_id: str = ""


@dataclass(frozen=True)
class ExecutionReport:
    """Outcome of `execute_plan`. status: "complete" (every order filled, no errors, no reconciliation
    residual), "partial" (something missing, open, rejected, mismatched, unconfirmed or a residual left) or
    "failed" (nothing filled and errors). protection: the protective-order steps (brokers.protect_repair.RepairStep
    as dicts: symbol, action, ok, client_order_id, message) of the release before and the repair after the fills.
    already_executed: the plan had completed before this run (which only looked its orders up: nothing sent)."""

    plan_id: str
    broker: str
    status: str
    orders: tuple[OrderResult, ...]
    reconciliation: pd.DataFrame
    errors: tuple[str, ...]
    started_at: str
    finished_at: str
    notified: bool | None = None
    sent: int = 0
    protection: tuple[dict[str, Any], ...] = ()
    already_executed: bool = False

    def orders_frame(self) -> pd.DataFrame:
        cols = [
            "client_order_id",
            "symbol",
            "side",
            "quantity",
            "status",
            "filled_quantity",
            "avg_fill_price",
            "reference_price",
            "slippage_bps",
            "sent",
            "reason",
        ]
        return pd.DataFrame([[getattr(o, c) for c in cols] for o in self.orders], columns=cols)

    def summary(self) -> str:
        filled = sum(1 for o in self.orders if o.status == "filled")
        return (
            f"plan {self.plan_id} on {self.broker}: "
            + ("already executed, " if self.already_executed else "")
            + f"{self.status.upper()}; {filled}/{len(self.orders)} filled, "
            f"{self.sent} sent now, {len(self.errors)} error(s)"
            + (f", {len(self.protection)} protective-order step(s)" if self.protection else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "broker": self.broker,
            "status": self.status,
            "orders": [o.__dict__ for o in self.orders],
            "reconciliation": self.reconciliation.to_dict(orient="records"),
            "errors": list(self.errors),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "notified": self.notified,
            "sent": self.sent,
            "protection": list(self.protection),
            "already_executed": self.already_executed,
        }


def slippage_bps(side: str, fill: float | None, reference: float) -> float | None:
    """Signed slippage in basis points (positive = worse than `reference`)."""
    if fill is None or not reference:
        return None
    return (fill / reference - 1.0) * 1e4 if side == "buy" else (1.0 - fill / reference) * 1e4


def reconcile(
    plan: RebalancePlan,
    broker: Broker,
    *,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    tolerance: ResidualTolerance | None = None,
) -> pd.DataFrame:
    """Positions now vs the plan's target quantities, per managed symbol (RECON_COLUMNS); status "ok" when
    the residual is within `tolerance` (default `residual_tolerance()`), else "residual".
    residual = target - actual (units)."""
    tol = tolerance if tolerance is not None else residual_tolerance()
    held = {p.symbol: p.quantity for p in retry(broker.positions, attempts=attempts, sleep=sleep)}
    rows = []
    for sym in sorted(plan.target_quantities):
        tgt, act = plan.target_quantities[sym], float(held.get(sym, 0.0))
        res, price = tgt - act, plan.prices[sym]
        rows.append((sym, tgt, act, res, res * price, "ok" if tol.allows(res, price) else "residual"))
    return pd.DataFrame(rows, columns=list(RECON_COLUMNS))


def is_done(r: OrderResult, tolerance: ResidualTolerance) -> bool:
    """Filled, or filled but for a rest within `tolerance` (at the order's reference price)."""
    if r.status == "filled":
        return True
    some = r.status in ("partially_filled", "canceled", "expired") and r.filled_quantity > 0
    return some and tolerance.allows(r.quantity - r.filled_quantity, r.reference_price)


def overall_status(
    results: tuple[OrderResult, ...],
    errors: list[str],
    recon: pd.DataFrame | None = None,
    tolerance: ResidualTolerance | None = None,
) -> str:
    """complete / partial / failed (see ExecutionReport); a reconciliation residual (beyond the tolerance, see
    `reconcile`) is never complete; an order whose unfilled rest is within `tolerance` counts as filled."""
    tol = tolerance if tolerance is not None else residual_tolerance()
    residual = recon is not None and not recon.empty and bool((recon["status"] != "ok").any())
    if all(is_done(r, tol) for r in results) and not errors and not residual:
        return "complete"
    if any(r.filled_quantity > 0 for r in results):
        return "partial"
    if errors or any(r.status in ("rejected", "unknown", "mismatch") for r in results):
        return "failed"
    return "partial"

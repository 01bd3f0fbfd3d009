"""After an execution: each order's result with its fill quality, the account reconciled against the plan,
the execution's overall status and its report.

Fill quality: slippage_bps = (fill / reference - 1) x 1e4 for buys and (1 - fill / reference) x 1e4 for sells
(positive = worse than the reference). The reference is the price the plan was sized with: the broker's latest
price at planning time. The backtest assumes the next session's open; when a plan is made before the open on
the previous close, that reference is the bar the backtest decided on, and the measured slippage includes the
overnight gap (that is the gap between research and reality we want to see).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from brokers.base import Broker, retry
from engine.ops.rebalance import RebalancePlan

RECON_COLUMNS: tuple[str, ...] = (
    "symbol",
    "target_quantity",
    "actual_quantity",
    "residual",
    "residual_value",
    "status",
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
    as dicts: symbol, action, ok, client_order_id, message) of the release before and the repair after the fills."""

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
            f"plan {self.plan_id} on {self.broker}: {self.status.upper()}; {filled}/{len(self.orders)} filled, "
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
        }


def slippage_bps(side: str, fill: float | None, reference: float) -> float | None:
    """Signed slippage in basis points (positive = worse than `reference`)."""
    if fill is None or not reference:
        return None
    return (fill / reference - 1.0) * 1e4 if side == "buy" else (1.0 - fill / reference) * 1e4


def reconcile(
    plan: RebalancePlan, broker: Broker, *, attempts: int = 3, sleep: Callable[[float], None] = time.sleep
) -> pd.DataFrame:
    """Positions now vs the plan's target quantities, per managed symbol (RECON_COLUMNS); status "ok" when
    the residual is below 1e-6 units, else "residual". residual = target - actual (units)."""
    held = {p.symbol: p.quantity for p in retry(broker.positions, attempts=attempts, sleep=sleep)}
    rows = []
    for sym in sorted(plan.target_quantities):
        tgt, act = plan.target_quantities[sym], float(held.get(sym, 0.0))
        res = tgt - act
        rows.append((sym, tgt, act, res, res * plan.prices[sym], "ok" if abs(res) < 1e-6 else "residual"))
    return pd.DataFrame(rows, columns=list(RECON_COLUMNS))


def overall_status(results: tuple[OrderResult, ...], errors: list[str], recon: pd.DataFrame | None = None) -> str:
    """complete / partial / failed (see ExecutionReport); a reconciliation residual is never complete."""
    residual = recon is not None and not recon.empty and bool((recon["status"] != "ok").any())
    if all(r.status == "filled" for r in results) and not errors and not residual:
        return "complete"
    if any(r.filled_quantity > 0 for r in results):
        return "partial"
    if errors or any(r.status in ("rejected", "unknown", "mismatch") for r in results):
        return "failed"
    return "partial"

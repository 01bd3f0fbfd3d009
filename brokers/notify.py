"""Webhook notifications of daily operations: a plan (dry run) and an execution's result; alerts of its fills
and rejects (engine.alerts).

Posting never raises and never changes a result (engine.ops.notify.send_webhook); no URL = no notification.
"""

from __future__ import annotations

from dataclasses import replace

from brokers.reconcile import ExecutionReport
from engine.alerts import ALL_CHANNELS, alert
from engine.ops.audit_log import AuditLog
from engine.ops.notify import send_webhook, webhook_url
from engine.ops.rebalance import RebalancePlan

REJECTED: frozenset[str] = frozenset({"rejected", "canceled", "expired", "mismatch"})
"""Order statuses reported as a reject alert."""


def notify_plan(plan: RebalancePlan, webhook: str | None = None) -> bool:
    """Post the plan summary and its checks to the webhook (never raises); False if none or it failed."""
    lines = [
        plan.summary(),
        *[f"{c.name}: {c.status} - {c.message}" for c in plan.checks if c.status != "pass"],
        *[f"{o.side} {o.quantity:g} {o.symbol} ~{o.notional:,.2f}" for o in plan.orders],
    ]
    return send_webhook(f"IvyBT plan {plan.preset}", lines, url=webhook)


def notify_result(
    plan: RebalancePlan, report: ExecutionReport, log: AuditLog, webhook: str | None = None
) -> ExecutionReport:
    """Post plan and execution result to `webhook` (default $IVYBT_WEBHOOK_URL) and audit the delivery.

    Returns `report` with `notified` set (unchanged when there is no URL).
    """
    url = webhook_url(webhook)
    if not url:
        return report
    ok = send_webhook(
        f"IvyBT {plan.preset}: {report.status}",
        [
            plan.summary(),
            report.summary(),
            *[f"{o.side} {o.filled_quantity:g}/{o.quantity:g} {o.symbol}: {o.status}" for o in report.orders],
        ],
        url=url,
    )
    log.event(
        "notify",
        "webhook delivered" if ok else "webhook FAILED (see the log; trading not affected)",
        plan_id=plan.plan_id,
        payload={"ok": ok},
    )
    return replace(report, notified=ok)


def alert_result(plan: RebalancePlan, report: ExecutionReport) -> None:
    """Alert the fills and the rejected / cancelled orders of an execution (engine.alerts; never raises).

    The webhook is left out: it gets the whole report from `notify_result`."""
    channels = [c for c in ALL_CHANNELS if c != "webhook"]
    fills = [o for o in report.orders if o.filled_quantity > 0]
    if fills:
        lines = [f"{o.side} {o.filled_quantity:g} {o.symbol} @ {o.avg_fill_price or 0:,.4g}" for o in fills]
        alert("fill", f"{plan.preset}: {len(fills)} order(s) filled", "\n".join(lines), channels=channels)
    rejects = [o for o in report.orders if o.status in REJECTED]
    if rejects:
        lines = [f"{o.side} {o.quantity:g} {o.symbol}: {o.status} {o.reason}".strip() for o in rejects]
        alert("reject", f"{plan.preset}: {len(rejects)} order(s) not filled", "\n".join(lines), channels=channels)

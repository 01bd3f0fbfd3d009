"""Webhook notifications of daily operations: a plan (dry run) and an execution's result.

Posting never raises and never changes a result (engine.ops.notify.send_webhook); no URL = no notification.
"""

from __future__ import annotations

from dataclasses import replace

from brokers.reconcile import ExecutionReport
from engine.ops.audit_log import AuditLog
from engine.ops.notify import send_webhook, webhook_url
from engine.ops.rebalance import RebalancePlan


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

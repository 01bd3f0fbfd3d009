"""Executing a plan on a broker: `execute_plan(plan, broker)`.

1. refuses a plan with a failed check, a kill switch turned on since planning, or a live account without the
   typed confirmation (the account id);
2. takes the plan's execution lease in the audit log, so two executions of one plan (two clicks, two tabs,
   two processes) run one after the other; the lease is short and renewed by a heartbeat while the execution runs
   (engine.ops.lease), so after a crash (kill -9) a rerun takes over within seconds. A plan executed before is
   run as first executed (its recorded orders, not a replan of today's holdings): after a crash every order is
   looked up at the broker by client_order_id and only the missing ones are sent, then it ends like a first run;
   a plan that completed is "already executed": its orders are only looked up, nothing is sent;
3. shrinks or cancels the protective orders a planned order would compete with (brokers.protect.release);
   submits the sells, then, when the cash at planning time does not cover the buys, waits for the sells to
   finish (polling order statuses until `timeout`), then submits the buys (brokers.executor);
4. polls every order until it is final or `timeout` passes (a partial fill stays reported as partial);
5. gives every position of the plan's symbols the protective order of the preset's risk block, resized to the
   position, and cancels those of closed positions (brokers.protect.protect_after; a step that fails makes
   the execution "partial");
6. records each ack, fill (with slippage against the plan's reference price) and error; reconciles the
   account's positions against the plan's target quantities (brokers.reconcile); optionally posts a webhook
   (brokers.notify).

Every refusal (failed check, kill switch, wrong broker, missing live confirmation, PlanBusy) writes an audit
`error` event. Planning is brokers.planning; idempotency and mismatched orders: brokers.executor.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from brokers.base import Broker, BrokerConfigError, BrokerError
from brokers.executor import OrderExecutor
from brokers.notify import alert_result, notify_result
from brokers.protect_repair import RepairStep, protect_after, release
from brokers.reconcile import RECON_COLUMNS, ExecutionReport, overall_status, reconcile
from engine.ops.audit_log import AuditLog
from engine.ops.lease import Heartbeat, lease_seconds
from engine.ops.plan_record import plan_from_dict
from engine.ops.rebalance import RebalancePlan
from engine.ops.risk import RiskCheckFailed, kill_switch_reason, require_approved


class PlanBusy(BrokerError):
    """Another session holds the plan's execution lease (it is being executed right now)."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def execute_plan(
    plan: RebalancePlan,
    broker: Broker,
    *,
    confirm: str | None = None,
    log: AuditLog | None = None,
    timeout: float = 30.0,
    poll_interval: float = 0.25,
    attempts: int = 3,
    backoff: float = 0.5,
    lease_wait: float | None = None,
    notify: bool = True,
    webhook: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionReport:
    """Execute an approved plan on `broker` (see module docstring).

    confirm: for a live account, the account id typed by the user (anything else refuses). timeout: seconds
    to wait for sells before buys and for final statuses. attempts/backoff: retries of BrokerUnavailable.
    lease_wait: how long to wait for a concurrent execution of the same plan (default `timeout` + 30 s);
    then PlanBusy. notify + webhook: post plan and result to `webhook` (default $IVYBT_WEBHOOK_URL; no URL =
    no notification); a failing webhook is logged and never changes the result.
    Raises RiskCheckFailed (failed check or kill switch), BrokerConfigError (live without confirmation,
    broker or account not the plan's), PlanBusy.
    """
    log = log if log is not None else AuditLog()
    try:
        _admit(plan, broker, confirm, log)
    except (RiskCheckFailed, BrokerConfigError) as e:
        _refused(log, plan, e)
        raise
    log.record_plan(
        plan.plan_id, plan.preset, plan.broker, plan.account_id, plan.data_timestamp, plan.approved, plan.to_dict()
    )
    owner, seconds = uuid.uuid4().hex, lease_seconds()
    deadline = time.monotonic() + (lease_wait if lease_wait is not None else timeout + 30.0)
    while not log.acquire_lease(plan.plan_id, owner, seconds=seconds):
        if time.monotonic() >= deadline:
            busy = PlanBusy(f"plan {plan.plan_id} is being executed by another session; try again when it is done")
            _refused(log, plan, busy)
            raise busy
        time.sleep(0.05)
    try:
        with Heartbeat(log, plan.plan_id, owner, seconds) as beat:
            plan, already = _plan_to_run(plan, log)
            report = _run(plan, broker, log, already, timeout, poll_interval, attempts, backoff, sleep, beat)
    finally:
        log.release_lease(plan.plan_id, owner)
    if not report.already_executed:  # its fills were alerted by the run that completed it
        alert_result(plan, report)
    return notify_result(plan, report, log, webhook) if notify else report


def _plan_to_run(plan: RebalancePlan, log: AuditLog) -> tuple[RebalancePlan, bool]:
    """The plan this execution works on, and whether it had completed before. A plan never executed is `plan`,
    recorded now as the one executing; one executed before (crashed, partial, failed or complete) is the plan as
    its first execution recorded it, so a rerun reconciles the very orders that may be at the broker already."""
    row = log.plan(plan.plan_id) or {}
    before = str(row.get("status", "planned"))
    stored = row.get("payload") or {}
    if before == "planned" or not stored.get("orders"):
        log.set_plan_status(plan.plan_id, "executing", payload=plan.to_dict())
        return plan, False
    first = plan_from_dict(stored)
    log.set_plan_status(plan.plan_id, "executing")
    what = "already executed: looking its orders up" if before == "complete" else "resuming its orders"
    log.event(
        "execute",
        f"plan {plan.plan_id} was {before} before this run; {what} at the broker by client_order_id",
        plan_id=plan.plan_id,
        payload={"previous_status": before, "orders": len(first.orders)},
    )
    return first, before == "complete"


def _run(
    plan: RebalancePlan,
    broker: Broker,
    log: AuditLog,
    already: bool,
    timeout: float,
    poll_interval: float,
    attempts: int,
    backoff: float,
    sleep: Callable[[float], None],
    beat: Heartbeat,
) -> ExecutionReport:
    """Steps 3-6 of the module docstring under the lease; `already`: the plan completed before (look up only)."""
    started = _now()
    log.event("execute", f"execute {plan.summary()}", plan_id=plan.plan_id)
    before = {r.client_order_id: float(r.filled_quantity) for r in log.order_results(plan_id=plan.plan_id).itertuples()}
    ex = OrderExecutor(plan, broker, log, attempts, backoff, timeout, poll_interval, sleep)
    steps: list[RepairStep] = []
    if already:
        ex.refresh(list(plan.orders))  # sends nothing: every order was placed by the run that completed
    else:
        steps += _protect(ex, release, plan, broker, log, timeout, poll_interval, sleep)
        for o in plan.sells:
            ex.submit(o)
        buys = plan.buys
        need = sum(o.notional for o in buys) * (1.0 + plan.costs_bps / 1e4)
        if buys and plan.sells and need > plan.cash:
            ex.wait(plan.sells)  # the buys need the sells' cash
        for o in buys:
            ex.submit(o)
        ex.wait(list(plan.orders))
    results = tuple(ex.result(o, before) for o in plan.orders)
    if not already:
        steps += _protect(ex, protect_after, plan, broker, log, timeout, poll_interval, sleep)
    try:
        recon = reconcile(plan, broker, attempts=attempts, sleep=sleep)
    except BrokerError as e:
        ex.errors.append(f"reconcile: {type(e).__name__}: {e}")
        recon = pd.DataFrame(columns=list(RECON_COLUMNS))
    if beat.lost:
        ex.errors.append(
            f"lease: another session took plan {plan.plan_id}'s execution lease (this run stalled for longer "
            f"than {beat.seconds:g} s); no order was sent twice"
        )
    status = overall_status(results, ex.errors, recon)
    log.event(
        "reconcile",
        f"{status}: "
        + (
            "; ".join(f"{r.symbol} residual {r.residual:g}" for r in recon.itertuples() if r.status != "ok")
            or "no residuals"
        ),
        plan_id=plan.plan_id,
        payload={"reconciliation": recon.to_dict(orient="records")},
    )
    log.set_plan_status(plan.plan_id, status)
    return ExecutionReport(
        plan.plan_id,
        broker.name,
        status,
        results,
        recon,
        tuple(ex.errors),
        started,
        _now(),
        sent=len(ex.sent),
        protection=tuple(s.__dict__ for s in steps),
        already_executed=already,
    )


def _protect(
    ex: OrderExecutor,
    step: Callable[..., list[RepairStep]],
    plan: RebalancePlan,
    broker: Broker,
    log: AuditLog,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None],
) -> list[RepairStep]:
    """Run a brokers.protect step; its failed steps (and a broker error) join the execution's errors."""
    try:
        steps = step(broker, plan, log=log, timeout=timeout, poll=poll, sleep=sleep)
    except BrokerError as e:
        ex.errors.append(f"protection: {type(e).__name__}: {e}")
        log.event("error", f"protect: {type(e).__name__}: {e}", plan_id=plan.plan_id, payload={"stage": "protect"})
        return []
    ex.errors.extend(f"protection: {s.symbol}: {s.action} failed: {s.message}" for s in steps if not s.ok)
    return steps


def _admit(plan: RebalancePlan, broker: Broker, confirm: str | None, log: AuditLog) -> None:
    """Raise if `plan` may not be executed on `broker` now (checks, kill switch, broker, live confirmation)."""
    require_approved(plan)
    reason = kill_switch_reason()
    if reason:
        log.event("kill_switch", f"execution of {plan.plan_id} refused: {reason}", plan_id=plan.plan_id)
        raise RiskCheckFailed(f"plan {plan.plan_id} blocked: kill switch is ON: {reason}")
    if broker.name != plan.broker:
        raise BrokerConfigError(f"plan {plan.plan_id} was made for broker {plan.broker!r}, not {broker.name!r}")
    if plan.is_live or broker.is_live:
        if not confirm or confirm.strip() != plan.account_id:
            typed = "nothing" if not confirm else f"{confirm.strip()!r}"
            raise BrokerConfigError(
                f"plan {plan.plan_id} trades the LIVE account {plan.account_id}: type the "
                f"account id to confirm (got {typed})"
            )


def _refused(log: AuditLog, plan: RebalancePlan, e: Exception) -> None:
    log.event(
        "error",
        f"execution refused: {type(e).__name__}: {e}",
        plan_id=plan.plan_id,
        payload={"stage": "execute", "error": type(e).__name__},
    )

"""Scheduled daily operations: the "daily_ops" job kind (engine.batch.kinds) that queues and runs the schedules of
engine.ops.schedule.

`enqueue_due(queue, now)` (the kind's poll; every `ivybt worker` loop calls it) queues each due schedule as one
job under `job_key(schedule id, trading date)`, so two workers or a restarted one queue a day's run once.
`run_job` runs it: signals -> plan -> checks (brokers.planning), then

- a plan blocked by a check or the kill switch: nothing sent, a `scheduled_run_blocked` alert;
- no orders, or the same signal's plan was executed before (no new bar since): nothing to do;
- mode "auto" on a paper account: executed (brokers.execution; a run that does not complete alerts too);
- mode "approve", or any live account (unattended runs never trade live): an `approval_needed` alert with the
  plan; the plan stays in the audit log and Daily Ops makes the same plan (same id and orders) to approve;
- any error: the job fails with it and the queue alerts `batch_job_failed`.

Restart-safe: once planned, the plan id is kept on the job (`JobRun.checkpoint`); a retry after a crash (the
stale-heartbeat requeue) executes that same stored plan again, so every order keeps its client_order_id and the
broker places each id once: nothing is sent twice, what was not sent yet is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from brokers import make_broker
from brokers.base import Broker, BrokerConfigError
from brokers.execution import execute_plan
from brokers.planning import plan_rebalance
from brokers.registry import BROKER_NAMES
from engine.alerts import alert
from engine.batch.kinds import JobKind, JobRun
from engine.batch.queue import JobQueue
from engine.batch.spec import Batch, JobSpec
from engine.errors import ConfigError, EngineError
from engine.ops.audit_log import AuditLog
from engine.ops.plan_record import plan_from_dict
from engine.ops.rebalance import RebalancePlan
from engine.ops.risk import kill_switch_reason
from engine.ops.schedule import Schedule, ScheduleStore, due, job_key, run_date
from engine.ops.signals import generate_signals
from engine.store.presets import Preset, load_preset

KIND = "daily_ops"
EXECUTION_TIMEOUT_S = 30.0


def check_options(options: Mapping[str, Any]) -> None:
    """ConfigError when `options["broker"]` is not a broker of the registry."""
    broker = str(options.get("broker", "")).strip().lower()
    if broker not in BROKER_NAMES:
        raise ConfigError(f"broker {options.get('broker')!r} is not one of {', '.join(BROKER_NAMES)}")


def job_spec(schedule: Schedule, day: date) -> JobSpec:
    """The job of `schedule`'s run on `day` (its preset's request, for the queue's strategy and symbols)."""
    preset = load_preset(schedule.preset)
    return JobSpec(
        name=f"daily ops #{schedule.id} {schedule.preset} on {schedule.broker} {day.isoformat()}",
        kind=KIND,
        request=preset.to_request(),
        options={"schedule_id": schedule.id, "date": day.isoformat()},
    )


def enqueue_due(queue: JobQueue, now: datetime) -> list[str]:
    """Queue every schedule due at `now` (once per schedule and trading day); returns the ids queued now. A
    schedule whose job cannot be made (its preset is gone or invalid) is marked failed for the day and alerted."""
    store = ScheduleStore(queue.path)
    queued = []
    for schedule in store.list():
        if not due(schedule, now):
            continue
        day = run_date(schedule, now)
        try:
            spec = job_spec(schedule, day)
        except EngineError as e:
            store.mark(schedule.id, day, "failed", f"{type(e).__name__}: {e}")
            alert("scheduled_run_blocked", f"Scheduled run #{schedule.id} ({schedule.preset}) not started", str(e))
            continue
        batch = Batch(name=spec.name, jobs=(spec,), source=f"schedule {schedule.id}")
        job_id, new = queue.submit_once(batch, job_key(schedule.id, day))
        store.mark_queued(schedule.id, day, job_id)
        if new:
            queued.append(job_id)
    return queued


def run_job(run: JobRun) -> dict[str, Any]:
    """Run one queued day of a schedule (see the module docstring); returns the job's summary."""
    options = run.job.spec.options
    schedule_id, day = int(options["schedule_id"]), date.fromisoformat(str(options["date"]))
    store = ScheduleStore(run.queue.path)
    schedule = store.find(schedule_id)
    if schedule is None or not schedule.enabled:
        why = "removed" if schedule is None else "disabled"
        if schedule is not None:
            store.mark(schedule_id, day, "skipped", f"the schedule was {why} after the run was queued")
        return {"status": "skipped", "message": f"schedule #{schedule_id} was {why}"}
    store.mark(schedule_id, day, "running", f"job {run.job.id}, attempt {run.job.attempt}")
    try:
        summary = _run(run, schedule, AuditLog(run.queue.path))
    except Exception as e:
        store.mark(schedule_id, day, "failed", f"{type(e).__name__}: {e}")
        raise EngineError(
            f"scheduled run #{schedule_id} ({schedule.preset} on {schedule.broker}, {day}): {type(e).__name__}: {e}"
        ) from e
    store.mark(schedule_id, day, summary["status"], summary["message"])
    return summary


def _run(run: JobRun, schedule: Schedule, log: AuditLog) -> dict[str, Any]:
    preset = load_preset(schedule.preset)
    broker = _broker(schedule.broker, preset)
    try:
        earlier = run.job.summary or {}
        plan = _stored_plan(log, earlier.get("plan_id"))
        if plan is None:
            run.progress(0.1, "signals")
            signal = generate_signals(preset, log=log)
            run.progress(0.4, "plan and checks")
            plan = plan_rebalance(signal, broker, log=log)
            done = (log.plan(plan.plan_id) or {}).get("status", "planned")
            if done != "planned":  # the same signal on the same account (no new bar since): its orders went out
                message = f"plan {plan.plan_id} of this signal was executed before ({done}); waiting for new data"
                return {"plan_id": plan.plan_id, "orders": 0, "status": "no new signal", "message": message}
            run.checkpoint({"plan_id": plan.plan_id, "stage": "planned"})
        return _act(run, schedule, plan, broker, log, alerted=earlier.get("stage") == "alerted")
    finally:
        broker.close()


def _act(
    run: JobRun, schedule: Schedule, plan: RebalancePlan, broker: Broker, log: AuditLog, alerted: bool
) -> dict[str, Any]:
    """What a plan leads to: blocked, nothing to do, approval asked, or executed."""
    out: dict[str, Any] = {"plan_id": plan.plan_id, "orders": len(plan.orders), "mode": schedule.mode}
    title = f"{schedule.preset} on {schedule.broker}"
    reason = kill_switch_reason()
    if not plan.approved or (reason and plan.orders):
        why = [f"{c.name}: {c.message}" for c in plan.failed_checks] or [f"kill switch: {reason}"]
        alert("scheduled_run_blocked", f"Scheduled run blocked: {title}", "\n".join([plan.summary(), *why]))
        return {**out, "status": "blocked", "message": "; ".join(why)}
    if not plan.orders:
        return {**out, "status": "no orders", "message": "the account already holds the targets"}
    if schedule.mode != "auto" or plan.is_live or broker.is_live:
        if not alerted:
            alert("approval_needed", f"Approval needed: {title}", _approval_text(plan))
            run.checkpoint({"plan_id": plan.plan_id, "stage": "alerted"})
        live = " (a live account is never traded unattended)" if plan.is_live or broker.is_live else ""
        return {**out, "status": "approval needed", "message": f"plan {plan.plan_id} waits on Daily Ops{live}"}
    run.checkpoint({"plan_id": plan.plan_id, "stage": "executing"})
    run.progress(0.6, "executing")
    report = execute_plan(plan, broker, log=log, timeout=EXECUTION_TIMEOUT_S)
    sent = f"{report.sent} order(s) sent, status {report.status}"
    if report.status != "complete":
        alert("scheduled_run_blocked", f"Scheduled run incomplete: {title}", "\n".join([sent, *report.errors]))
        return {**out, "status": "partial", "message": "; ".join([sent, *report.errors]), "sent": report.sent}
    return {**out, "status": "executed", "message": sent, "sent": report.sent}


def _approval_text(plan: RebalancePlan) -> str:
    orders = [f"{o.side} {o.quantity:g} {o.symbol} ~{o.notional:,.2f}" for o in plan.orders]
    warns = [f"{c.name} {c.status}: {c.message}" for c in plan.checks if c.status != "pass"]
    how = (
        f"Open Daily Ops, choose broker {plan.broker} and preset {plan.preset}, Generate signals: "
        f"plan {plan.plan_id} comes back to review and execute."
    )
    return "\n".join([plan.summary(), *orders, *warns, how])


def _broker(name: str, preset: Preset) -> Broker:
    """The schedule's broker; the paper broker fills with the preset's costs (as `ivybt rebalance` does)."""
    check_options({"broker": name})
    if name == "paper":
        return make_broker("paper", costs=preset.backtest_config().costs)
    return make_broker(name)


def _stored_plan(log: AuditLog, plan_id: Any) -> RebalancePlan | None:
    """The plan an earlier attempt made (from the audit log), or None when there was none."""
    if not plan_id:
        return None
    row = log.plan(str(plan_id))
    if row is None:
        raise BrokerConfigError(f"plan {plan_id} of an earlier attempt is not in the audit log")
    return plan_from_dict(row["payload"])


JOB_KIND = JobKind(KIND, run=run_job, poll=enqueue_due, check=check_options, options={"broker": BROKER_NAMES})
"""The "ivybt.jobs" entry point (pyproject.toml)."""

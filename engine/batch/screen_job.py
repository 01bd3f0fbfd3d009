"""The `screen` job kind (engine.batch.kinds, entry point in pyproject.toml): scheduled screens on the worker.

`enqueue_due(queue, now)` (the kind's poll, called by every `ivybt worker` loop) queues each scheduled screen
(engine.batch.screen_schedules) whose slot is due, once per slot. `run_job` runs the screen on the newest
data, compares its symbols with the previous result kept on the schedule and, when symbols entered or left,
sends a `screen_changed` alert (in-app list and the configured channels) naming them. The first run only sets
the baseline. The new result becomes the next run's baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engine.alerts import alert
from engine.alerts.inbox import Inbox
from engine.batch.kinds import JobKind, JobRun
from engine.batch.queue import JobQueue
from engine.batch.screen_schedules import ScreenSchedule, ScreenScheduleStore, due
from engine.batch.spec import Batch, JobSpec
from engine.errors import EngineError
from engine.request import BacktestRequest
from engine.research.screen import run_screen

KIND = "screen"
CARRIER_STRATEGY = "buy_and_hold"
"""The strategy of the job's request: the queue lists a job's strategy and symbols; a screen trades nothing."""


def changes(previous: Sequence[str] | None, current: Sequence[str]) -> tuple[list[str], list[str]]:
    """(entered, left): symbols in `current` and not in `previous`, and the other way round (in their order).
    No previous result (the first run) -> no change."""
    if previous is None:
        return [], []
    return [s for s in current if s not in previous], [s for s in previous if s not in current]


def job_spec(schedule: ScreenSchedule, key: str) -> JobSpec:
    """The job of one due slot of `schedule` (its universe as the request's symbols, for the queue's list)."""
    return JobSpec(
        name=f"screen #{schedule.id} {schedule.name} ({schedule.when()})",
        kind=KIND,
        request=BacktestRequest(strategy=CARRIER_STRATEGY, symbols=tuple(schedule.spec.universe())),
        options={"schedule_id": schedule.id, "key": key},
    )


def enqueue_due(queue: JobQueue, now: datetime) -> list[str]:
    """Queue every scheduled screen due at `now`; returns the job ids queued by this call."""
    store = ScreenScheduleStore(queue.path)
    queued = []
    for schedule in store.list():
        key = due(schedule, now)
        if key is None:
            continue
        try:
            spec = job_spec(schedule, key)
        except EngineError as e:  # its watchlist is gone, ...: failed for this slot, said once
            store.mark(schedule.id, key, "failed", f"{type(e).__name__}: {e}")
            continue
        job_id, new = queue.submit_once(Batch(name=spec.name, jobs=(spec,), source=f"screen {schedule.id}"), key)
        store.mark(schedule.id, key, "queued", f"job {job_id}")
        if new:
            queued.append(job_id)
    return queued


def run_job(run: JobRun) -> dict[str, Any]:
    """Run one queued slot of a scheduled screen; returns the job's summary (symbols, entered, left)."""
    schedule_id = int(run.job.spec.options["schedule_id"])
    store = ScreenScheduleStore(run.queue.path)
    schedule = store.find(schedule_id)
    if schedule is None or not schedule.enabled:
        return {"status": "skipped", "message": f"scheduled screen #{schedule_id} was removed or disabled"}
    run.progress(0.1, "screening")
    try:
        result = run_screen(schedule.spec)
    except Exception as e:
        store.mark(schedule_id, None, "failed", f"{type(e).__name__}: {e}")
        raise EngineError(f"scheduled screen #{schedule_id} ({schedule.name}): {type(e).__name__}: {e}") from e
    symbols = result.symbols
    entered, left = changes(schedule.last_symbols, symbols)
    store.set_symbols(schedule_id, symbols)
    message = f"{len(symbols)} symbol(s) on bars to {result.asof.date()}: {', '.join(symbols) or 'none'}"
    if entered or left:
        alert(
            "screen_changed",
            f"Screen {schedule.name}: {len(entered)} entered, {len(left)} left",
            f"entered: {', '.join(entered) or 'none'}\nleft: {', '.join(left) or 'none'}\nnow: {message}",
            inbox=Inbox(run.queue.path),
        )
    status = "changed" if entered or left else ("baseline" if schedule.last_symbols is None else "unchanged")
    store.mark(schedule_id, None, status, message)
    return {"status": status, "message": message, "symbols": symbols, "entered": entered, "left": left}


JOB_KIND = JobKind(KIND, run=run_job, poll=enqueue_due)

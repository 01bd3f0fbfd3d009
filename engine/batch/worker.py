"""`ivybt worker`: a loop that claims queued jobs from the workspace's queue and runs them in this process.

Each claim first returns lost jobs (stale heartbeats) to the queue, so a worker restarted after a crash picks
up what the dead one was running. Run as many workers as you like, on one machine or several sharing the
workspace: claiming is atomic. Ctrl-C gives the current job back to the queue before exiting.

Before each claim a worker not bound to one batch lets the plugin job kinds queue what is due
(engine.batch.kinds.poll_kinds: the scheduled daily operations of brokers.scheduled_ops), so any running worker
is the scheduler too; a day's run is queued under one key, once, however many workers poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.batch.jobs import execute_claimed
from engine.batch.kinds import poll_kinds
from engine.batch.queue import JobQueue, new_worker_id


def run_worker(
    *,
    queue: JobQueue | None = None,
    worker_id: str | None = None,
    poll: float = 2.0,
    once: bool = False,
    exit_when_empty: bool = False,
    batch_id: str | None = None,
    heartbeat: float | None = None,
    stop: threading.Event | None = None,
    store: Any = None,
    on_event: Callable[[str, str], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Claim and run jobs until stopped; returns how many jobs this worker ran.

    poll: seconds between looks at an empty queue. once: run at most one job, then exit. exit_when_empty:
    exit as soon as no job is queued (a batch drained). batch_id: only this batch's jobs. heartbeat: seconds
    between heartbeats (default `IVYBT_HEARTBEAT_S`). stop: an Event that ends the loop between jobs (for a
    worker thread). on_event(job_id, status) is called after each job. clock: the time the plugin kinds' polls
    judge what is due by (default: now, UTC); a worker bound to `batch_id` does not poll.
    """
    queue = queue or JobQueue()
    worker = worker_id or new_worker_id()
    stop = stop or threading.Event()
    ran = 0
    now = clock or _utc_now
    while not stop.is_set():
        if batch_id is None:
            poll_kinds(queue, now())
        claimed = queue.claim(worker, batch_id=batch_id)
        if claimed is None:
            if once or exit_when_empty:
                break
            stop.wait(poll)
            continue
        try:
            status = execute_claimed(queue, claimed, worker, store=store, heartbeat=heartbeat)
        except KeyboardInterrupt:
            queue.release(claimed.id, worker, f"worker {worker} was interrupted; queued again")
            raise
        ran += 1
        if on_event:
            on_event(claimed.id, status)
        if once:
            break
    return ran


def _utc_now() -> datetime:
    return datetime.now(UTC)


def start_worker_thread(**kwargs: Any) -> tuple[threading.Thread, threading.Event]:
    """`run_worker` in a daemon thread (for the app or tests); set the returned Event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, kwargs={**kwargs, "stop": stop}, name="ivybt-worker", daemon=True)
    thread.start()
    return thread, stop

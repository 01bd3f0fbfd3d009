"""A batch job marked failed raises a batch_job_failed alert (real queue and in-app list in the workspace)."""

from __future__ import annotations

from engine.alerts import Inbox
from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from tests.engine.batch_helpers import grid_batch


def test_a_failed_job_alerts(home, monkeypatch):
    for name in ("IVYBT_SMTP_HOST", "IVYBT_TELEGRAM_TOKEN", "IVYBT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    queue = JobQueue(stale_after=60)
    queue.submit(parse_batch(grid_batch(1), "grid.yaml"))
    job = queue.claim("w1")
    assert not queue.fail(job.id, "someone-else", "not the owner")  # nothing failed: no alert
    assert Inbox().list() == []
    assert queue.fail(job.id, "w1", "ValueError: bad window")
    (row,) = Inbox().list()
    assert (row.event, row.level, row.title, row.text) == (
        "batch_job_failed",
        "error",
        f"Batch job {job.id} failed",
        "ValueError: bad window",
    )

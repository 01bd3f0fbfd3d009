"""`ivybt batch run` (the driver) killed with SIGKILL while its pool computes (issue 15, item 1): every process
below it (pool processes, their sandbox children) is gone within a bounded wait, and an `ivybt worker` started
afterwards takes the dead driver's jobs once their heartbeats are stale and finishes each exactly once. Real
processes, a real queue in a temporary workspace."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from engine.batch.queue import JobQueue
from tests.engine.batch_helpers import make_workspace
from tests.faults.pool_helpers import descendants, executor_pids, ivybt, kill_all, runs_per_job, slow_batch
from tests.faults.user_code_helpers import alive, wait_for

JOBS, WORKERS, SECONDS, STALE = 4, 2, 4.0, 2.0
EXIT_LIMIT = 30.0  # a hang guard: the pool processes go within about a second


@pytest.mark.slow
def test_pool_driver_sigkill_takes_its_pool_down_and_a_new_worker_finishes_its_jobs_once(home: Path) -> None:
    make_workspace(home)
    (home / "slow.yaml").write_text(slow_batch(JOBS, SECONDS))
    queue = JobQueue()
    driver = ivybt(home, "batch", "run", str(home / "slow.yaml"), "--workers", str(WORKERS), IVYBT_HEARTBEAT_S="0.2")
    below: set[int] = set()
    try:
        wait_for(lambda: len(queue.batches()) == 1, "the driver to queue its batch")
        batch_id = str(queue.batches()["id"].iloc[0])
        wait_for(lambda: len(executor_pids(queue, batch_id)) == WORKERS, "every pool process to be in a job")
        below = descendants(driver.pid)
        pool = set(executor_pids(queue, batch_id).values())
        assert pool <= below
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
        wait_for(lambda: not any(alive(p) for p in below), "the dead driver's pool processes to exit", EXIT_LIMIT)
    finally:
        kill_all({driver.pid, *below})
        driver.wait()
        driver.stdout.close()
        driver.stderr.close()

    orphaned = queue.jobs(batch_id, status="running")
    assert len(orphaned) == JOBS - queue.counts(batch_id)["done"] > 0  # the driver died holding them
    wait_for(lambda: time.time() - queue.jobs(batch_id)["heartbeat_at"].max() > STALE, "the heartbeats to go stale")
    worker = ivybt(home, "worker", "--exit-when-empty", "--poll", "0.2", "--stale-after", str(STALE))
    try:
        out, err = worker.communicate(timeout=600)
    finally:
        kill_all({worker.pid})
        worker.wait()
    assert worker.returncode == 0, err
    jobs = queue.jobs(batch_id).set_index("id")
    assert set(jobs["status"]) == {"done"}, jobs[["name", "status", "attempts", "error", "message"]]
    assert (jobs.loc[orphaned["id"], "attempts"] == 2).all()  # each taken once more, after its driver died
    assert runs_per_job(queue, batch_id) == {job: 1 for job in jobs.index}

"""A local-runner pool process killed with SIGKILL while six jobs are in flight (issue 15, item 1): only the
job that was on it runs again (attempt 2), the other five finish on the first attempt, every job's numbers
equal a run without the fault, the pool gets a new process and `ivybt batch run` exits 0; on a job's last
attempt only that job fails ("worker lost"). Real processes, a real queue in a temporary workspace; the pool
itself is checked on its own too (a killed process fails only its call, and is replaced)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from engine.batch.runners import LocalRunner, run_batch
from engine.research.pool import ProcessPool, WorkerLost
from tests.engine.batch_helpers import make_workspace
from tests.faults.pool_helpers import (
    executor_pids,
    freeze_one_at_work,
    ivybt,
    kill_all,
    metrics_by_name,
    runs_per_job,
    slow_batch,
)
from tests.faults.user_code_helpers import alive, wait_for

JOBS, WORKERS, SECONDS = 6, 3, 3.0


@pytest.mark.slow
def test_pool_process_sigkill_retries_only_its_job_and_batch_run_exits_0(home: Path) -> None:
    make_workspace(home)
    text = slow_batch(JOBS, SECONDS)
    (home / "slow.yaml").write_text(text)
    queue = JobQueue()
    driver = ivybt(home, "batch", "run", str(home / "slow.yaml"), "--workers", str(WORKERS), IVYBT_HEARTBEAT_S="0.2")
    try:
        wait_for(lambda: len(queue.batches()) == 1, "the driver to queue its batch")
        batch_id = str(queue.batches()["id"].iloc[0])
        wait_for(lambda: len(executor_pids(queue, batch_id)) == WORKERS, "every pool process to be in a job")
        # 3 computing, 3 waiting for a process: all in flight (the driver claims the last ones while the first
        # ones already compute, so this is waited for, not read once)
        wait_for(lambda: queue.counts(batch_id)["running"] == JOBS, "every job to be in flight")
        pid, victim = freeze_one_at_work(queue, batch_id)
        os.kill(pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=600)
    finally:
        if driver.poll() is None:
            kill_all({driver.pid})
            driver.wait()
    assert driver.returncode == 0, err + out
    jobs = queue.jobs(batch_id).set_index("id")
    assert set(jobs["status"]) == {"done"}, jobs[["name", "status", "attempts", "error", "message"]]
    assert jobs.loc[victim, "attempts"] == 2  # taken again after its process died
    assert (jobs.drop(index=victim)["attempts"] == 1).all()  # the others finished on their first attempt
    assert all(not w.endswith(f":{pid}") for w in jobs["worker"])  # nothing was recorded by the dead process
    assert runs_per_job(queue, batch_id) == {job: 1 for job in jobs.index}
    assert "retry" in out  # the driver said the job goes round again

    reference_id = queue.submit(parse_batch(text, "slow.yaml"))  # the same batch without the fault
    with LocalRunner(workers=WORKERS) as runner:
        assert run_batch(queue, reference_id, runner, heartbeat=0.2)["done"] == JOBS
    faulty, clean = metrics_by_name(queue, batch_id), metrics_by_name(queue, reference_id)
    assert sorted(faulty) == sorted(clean) == [f"job{i}" for i in range(JOBS)]
    assert faulty == clean
    assert len({m["total_return"] for m in clean.values()}) == JOBS  # six different backtests


@pytest.mark.slow
def test_pool_process_sigkill_on_the_last_attempt_fails_that_job_worker_lost(home: Path) -> None:
    make_workspace(home)
    (home / "slow.yaml").write_text(slow_batch(4, SECONDS))
    queue = JobQueue()
    args = ("batch", "run", str(home / "slow.yaml"), "--workers", "2", "--max-attempts", "1")
    driver = ivybt(home, *args, IVYBT_HEARTBEAT_S="0.2")
    try:
        wait_for(lambda: len(queue.batches()) == 1, "the driver to queue its batch")
        batch_id = str(queue.batches()["id"].iloc[0])
        pid, victim = freeze_one_at_work(queue, batch_id)
        os.kill(pid, signal.SIGKILL)
        out, err = driver.communicate(timeout=600)
    finally:
        if driver.poll() is None:
            kill_all({driver.pid})
            driver.wait()
    assert driver.returncode == 1, err + out  # one job failed; the batch ran to its end
    jobs = queue.jobs(batch_id).set_index("id")
    assert jobs.loc[victim, "status"] == "failed"
    assert jobs.loc[victim, "error"] == (
        f"worker lost: runner local: WorkerLost: pool process {pid} died (killed by SIGKILL) while running "
        "run_job_task (attempt 1 of 1); no attempts left"
    )
    assert set(jobs.drop(index=victim)["status"]) == {"done"}
    assert runs_per_job(queue, batch_id) == {job: int(job != victim) for job in jobs.index}


def _hold(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_pool_process_sigkill_fails_only_its_call_and_the_pool_gets_a_new_process() -> None:
    with ProcessPool(2) as pool:
        wait_for(lambda: len(pool.pids()) == 2, "two pool processes")
        first = set(pool.pids())
        held = [pool.submit_call(_hold, 30.0), pool.submit_call(_hold, 2.0)]
        wait_for(lambda: len(pool.running()) == 2, "both calls to run")
        victim = pool.running()[held[0]]
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(WorkerLost, match=rf"pool process {victim} died \(killed by SIGKILL\) while running _hold"):
            held[0].result(timeout=120)
        assert held[1].result(timeout=120) in first - {victim}  # the other call finished where it ran
        wait_for(lambda: len(pool.pids()) == 2 and victim not in pool.pids(), "a new process in the dead one's place")
        assert not alive(victim)
        assert pool.submit_call(os.getpid).result(timeout=120) in pool.pids()

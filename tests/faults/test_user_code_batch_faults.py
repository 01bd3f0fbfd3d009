"""Batch jobs running user strategies: a job over its time limit fails with one line and the worker goes on; a
cancelled job's sandbox child is killed (issue 15, item 2). Real queue in a temporary workspace, real workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from engine.batch.worker import start_worker_thread
from tests.faults.user_code_helpers import HOLD, SPIN, alive, env_for, pid_of, wait_for, write_strategies

BATCH = """
name: user code
jobs:
  - {name: spins, strategy: spin, symbols: [SPY], start: 2020-01-01}
  - {name: holds, strategy: half_hold, symbols: [SPY], start: 2020-01-01}
"""


def _submit(home: Path) -> tuple[JobQueue, str, str]:
    write_strategies(home, SPIN, HOLD)
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(BATCH))
    jobs = queue.jobs(batch_id)
    return queue, str(jobs["id"].iloc[0]), str(jobs["id"].iloc[1])


def test_batch_job_user_strategy_over_time_limit_fails_and_worker_carries_on(home: Path) -> None:
    queue, spins, holds = _submit(home)
    worker = subprocess.run(
        [sys.executable, "-m", "engine.cli", "worker", "--exit-when-empty", "--poll", "0.2", "--timeout", "2"],
        capture_output=True,
        text=True,
        env=env_for(home),
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert worker.returncode == 0, worker.stderr
    failed, done = queue.get(spins), queue.get(holds)
    assert failed["status"] == "failed"
    assert failed["error"] == (
        "UserCodeError: user strategy 'spin' stopped: time limit 2 s exceeded in target_weights "
        "(IVYBT_USER_CODE_TIMEOUT or --timeout)"
    )
    assert done["status"] == "done" and done["run_id"]
    assert not alive(pid_of(home, "spin"))


def test_batch_job_cancel_kills_user_strategy(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("IVYBT_USER_CODE_TIMEOUT", "600")  # only the cancel can stop it
    queue, spins, holds = _submit(home)
    thread, stop = start_worker_thread(queue=queue, poll=0.1, heartbeat=0.2)
    try:
        wait_for(lambda: (home / "pids" / "spin.pid").exists(), "the spinning strategy to start")
        pid = pid_of(home, "spin")
        assert alive(pid)
        assert queue.cancel(spins)
        wait_for(lambda: not alive(pid), "the cancelled job's sandbox child to be killed")
        wait_for(lambda: queue.get(holds)["status"] == "done", "the worker to run the next job")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(60)
    assert queue.get(spins)["status"] == "cancelled"
    assert not thread.is_alive()

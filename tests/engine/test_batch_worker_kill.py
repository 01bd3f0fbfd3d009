"""A real `ivybt worker` process killed with SIGKILL while a job runs: after a restart every job ends done
exactly once (one run per job in the store) and nothing is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from engine.store.runs import RunStore
from tests.engine.batch_helpers import make_workspace

HEARTBEAT, STALE = 0.2, 1.5
BATCH = "name: slow\njobs:\n" + "".join(
    f"  - {{name: slow{i}, strategy: slow_hold, symbols: [SPY], start: 2020-01-01, params: {{seconds: 1.0}}}}\n"
    for i in range(6)
)


def _worker(home: Path) -> subprocess.Popen:
    env = {**os.environ, "IVYBT_HOME": str(home)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "worker",
            "--exit-when-empty",
            "--poll",
            "0.2",
            "--heartbeat",
            str(HEARTBEAT),
            "--stale-after",
            str(STALE),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def _wait(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_killed_worker_loses_nothing_and_runs_nothing_twice(home: Path) -> None:
    make_workspace(home)
    queue = JobQueue(stale_after=STALE)
    batch_id = queue.submit(parse_batch(BATCH, "slow.yaml"))
    first = _worker(home)
    try:
        # wait until the worker is inside its second job (the first one finished), then kill it mid-job
        _wait(
            lambda: queue.counts(batch_id)["done"] >= 1 and queue.counts(batch_id)["running"] == 1,
            120,
            "the first worker to be running its second job",
        )
        victim = queue.jobs(batch_id, status="running")["id"].iloc[0]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        row = queue.get(victim)
        assert row["status"] == "running" and row["attempts"] == 1  # it died holding the job
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    second = _worker(home)
    try:
        out, err = second.communicate(timeout=120)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    assert second.returncode == 0, err
    jobs = queue.jobs(batch_id).set_index("id")
    if jobs.loc[victim, "status"] != "done":  # the restart drained the queue before the victim went stale
        _wait(lambda: time.time() - jobs.loc[victim, "heartbeat_at"] > STALE, 10, "stale heartbeat")
        third = _worker(home)
        assert third.wait(timeout=120) == 0
        jobs = queue.jobs(batch_id).set_index("id")
    assert set(jobs["status"]) == {"done"}, jobs[["name", "status", "error", "message"]]
    assert jobs.loc[victim, "attempts"] == 2  # taken again after its worker died
    assert (jobs.drop(index=victim)["attempts"] == 1).all()
    # exactly one saved run per job, and it is the run the job points at
    with sqlite3.connect(queue.path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM runs")]
    per_job = {job_id: sum(n.endswith(f"[job {job_id}]") for n in names) for job_id in jobs.index}
    assert per_job == {job_id: 1 for job_id in jobs.index}
    assert len(names) == 6
    store = RunStore(queue.path)
    for job_id, row in jobs.iterrows():
        assert store.load(row["run_id"]).name.endswith(f"[job {job_id}]")

"""Dask gets a batch's jobs in chunks (several jobs per task, issue 19 item 3); a worker SIGKILLed in the middle of
a chunk still costs only the job it was computing: Dask computes the chunk again elsewhere, the jobs of the chunk
that had ended are skipped, and every job ends done with exactly one saved run and no extra attempt."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from engine.batch.runners import MAX_CHUNK, DaskRunner, run_batch
from tests.engine.batch_helpers import make_workspace
from tests.faults.pool_helpers import SYMBOLS, freeze_one_at_work, metrics_by_name, runs_per_job

JOBS, WORKERS, SECONDS = 12, 2, 1.0


def slow_batch(n: int, seconds: float) -> str:
    """YAML of `n` distinct slow_hold jobs (symbol and start year vary; years from 2012 so 12 fit the data)."""
    lines = ["name: slow", "jobs:"]
    for i in range(n):
        lines.append(
            f"  - {{name: job{i}, strategy: slow_hold, symbols: [{SYMBOLS[i % 3]}], start: {2012 + i}-01-01, "
            f"params: {{seconds: {seconds}}}}}"
        )
    return "\n".join(lines) + "\n"


def test_chunks_only_where_workers_record_about_two_per_worker_bounded() -> None:
    def size(queued: int, workers: int = 2, records: bool = True) -> int:
        return DaskRunner.chunk_size(SimpleNamespace(workers=workers, records_in_workers=records), queued)  # type: ignore[arg-type]

    assert [size(n) for n in (1, 5, 6, 12, 16, 17, 40)] == [1, 1, 1, 3, 4, 4, MAX_CHUNK]
    assert size(1000) == MAX_CHUNK and size(16, workers=1) == MAX_CHUNK and size(15, workers=1) == 7
    assert size(40, records=False) == 1  # a remote cluster's driver records each output: one job per task


@pytest.mark.slow
def test_dask_worker_sigkill_mid_chunk_costs_only_its_job(home: Path) -> None:
    make_workspace(home)
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(slow_batch(JOBS, SECONDS), "slow.yaml"))
    ended: dict[str, Any] = {}

    def drive(runner: DaskRunner) -> None:
        try:
            ended["counts"] = run_batch(queue, batch_id, runner, heartbeat=0.2)
        except BaseException as e:  # reported by the assertion below
            ended["error"] = e

    with DaskRunner(workers=WORKERS) as runner:
        assert runner.chunk_size(JOBS) == 3  # several jobs per task: the worker dies inside a chunk
        workers = {int(pid) for pid in runner._client.run(os.getpid).values()}
        thread = threading.Thread(target=drive, args=(runner,), daemon=True)
        thread.start()
        pid, victim = freeze_one_at_work(queue, batch_id)
        assert pid in workers
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=600)
        assert not thread.is_alive(), "run_batch did not return"
    assert "error" not in ended, ended.get("error")
    jobs = queue.jobs(batch_id).set_index("id")
    assert ended["counts"]["done"] == JOBS, jobs[["name", "status", "attempts", "error", "message"]].to_string()
    assert set(jobs["attempts"]) == {1}  # computed again by Dask, never given back: no job spent a retry
    assert not jobs.loc[victim, "worker"].endswith(f":{pid}")  # recorded by the process that computed it again
    assert runs_per_job(queue, batch_id) == {job: 1 for job in jobs.index}
    assert len({m["total_return"] for m in metrics_by_name(queue, batch_id).values()}) == JOBS

"""A worker process of a real Dask LocalCluster (127.0.0.1, two worker processes) killed with SIGKILL while it
computes a job (issue 15, item 1): its job is computed again (Dask's own resubmission) and every job of the
batch ends done, none lost, none saved twice (one run per job in the run store). And the narrow case behind it:
a task computed again after its worker had saved the job's run records into that run."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.batch import parse_batch
from engine.batch.jobs import run_job_task, run_name
from engine.batch.queue import JobQueue
from engine.batch.runners import DaskRunner, run_batch
from engine.request import run_request
from engine.store.runs import RunStore
from tests.engine.batch_helpers import make_workspace
from tests.faults.pool_helpers import freeze_one_at_work, metrics_by_name, runs_per_job, slow_batch

JOBS, WORKERS, SECONDS = 4, 2, 3.0
BUILTIN = "name: one\njobs:\n  - {name: spy, strategy: sma_cross, symbols: [SPY], start: 2020-01-01}\n"


@pytest.mark.slow
def test_dask_worker_sigkill_resubmits_its_job_none_lost_none_twice(home: Path) -> None:
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
        workers = {int(pid) for pid in runner._client.run(os.getpid).values()}
        thread = threading.Thread(target=drive, args=(runner,), daemon=True)
        thread.start()
        pid, victim = freeze_one_at_work(queue, batch_id)
        assert pid in workers
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=600)
        assert not thread.is_alive(), "run_batch did not return"
    assert "error" not in ended, ended.get("error")
    assert ended["counts"]["done"] == JOBS, queue.jobs(batch_id)[["name", "status", "attempts", "error", "message"]]
    jobs = queue.jobs(batch_id).set_index("id")
    assert not jobs.loc[victim, "worker"].endswith(f":{pid}")  # recorded by the process that computed it again
    assert runs_per_job(queue, batch_id) == {job: 1 for job in jobs.index}
    assert len({m["total_return"] for m in metrics_by_name(queue, batch_id).values()}) == JOBS


def test_dask_recomputed_job_whose_dead_worker_saved_its_run_keeps_one_run(home: Path) -> None:
    """The narrow case the kill above rarely hits: the worker died after saving the job's run but before marking
    the job done, and Dask computes the task again (the same `run_job_task` call, same driver)."""
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(BUILTIN, "one.yaml"))
    claimed = queue.claim("driver", batch_id=batch_id, started=False)
    assert claimed is not None
    store = RunStore(queue.path)
    first = run_request(claimed.spec.request)  # what the dead worker computed and saved
    assert queue.start(claimed.id, "driver", "vm:1")
    saved = store.save(first, claimed.spec.request, kind="backtest", name=run_name(claimed.spec, claimed.id))
    assert run_job_task(claimed.spec.to_dict(), claimed.id, "driver", str(queue.path)) == ("recorded", "done", None)
    assert queue.get(claimed.id)["run_id"] == saved
    assert runs_per_job(queue, batch_id) == {claimed.id: 1}

"""The same 20-job batch on a real Dask LocalCluster (loopback, 2 worker processes) and on the local process
pool gives exactly the same metrics in the run store."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from engine.batch.runners import DaskRunner, LocalRunner, make_runner, run_batch
from engine.errors import ConfigError
from engine.store.runs import RunStore
from tests.engine.batch_helpers import grid_batch, make_workspace


def _metrics_by_job(queue: JobQueue, batch_id: str) -> dict[str, dict[str, float]]:
    store = RunStore(queue.path)
    jobs = queue.jobs(batch_id)
    assert set(jobs["status"]) == {"done"}, jobs[["name", "status", "error"]]
    return {row.name: store.load(row.run_id).result.metrics for row in jobs.itertuples()}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.slow
def test_dask_local_cluster_matches_the_local_runner(home: Path) -> None:
    make_workspace(home)
    batch = parse_batch(grid_batch(20), "grid20.yaml")
    queue = JobQueue()
    local_id, dask_id, remote_id = queue.submit(batch), queue.submit(batch), queue.submit(batch)
    with LocalRunner(workers=2) as runner:
        assert run_batch(queue, local_id, runner, heartbeat=0.5)["done"] == 20
    with DaskRunner(workers=2) as runner:  # its own LocalCluster: workers save their results themselves
        assert runner.address.startswith("tcp://127.0.0.1:") and runner.records_in_workers
        worker_pids = {str(pid) for pid in runner._client.run(os.getpid).values()}
        assert len(worker_pids) == 2 and str(os.getpid()) not in worker_pids
        assert run_batch(queue, dask_id, runner, heartbeat=0.5)["done"] == 20
        # the same cluster reached by address, as a remote one: workers only compute, the driver records
        with DaskRunner(address=runner.address) as remote:
            assert not remote.records_in_workers and remote.workers == 2
            assert run_batch(queue, remote_id, remote, heartbeat=0.5)["done"] == 20
    local, dask = _metrics_by_job(queue, local_id), _metrics_by_job(queue, dask_id)
    remote = _metrics_by_job(queue, remote_id)
    assert sorted(local) == [f"job{i:02d}" for i in range(20)] and sorted(dask) == sorted(remote) == sorted(local)
    for name in local:
        for other in (dask, remote):
            assert local[name].keys() == other[name].keys()
            assert all(_same(local[name][k], other[name][k]) for k in local[name]), name
    # the jobs are distinct backtests (not one result copied 20 times)
    assert len({round(m["sharpe"], 12) for m in local.values()}) >= 15
    # each job was computed in one of the cluster's worker processes (its pid is recorded as the job's worker)
    executors = {w.split(":")[-1] for b in (dask_id, remote_id) for w in queue.jobs(b)["worker"]}
    assert executors <= worker_pids


def test_make_runner_rejects_bad_choices() -> None:
    with pytest.raises(ConfigError, match="not one of"):
        make_runner("spark")
    with pytest.raises(ConfigError, match="address is for the dask runner"):
        make_runner("local", address="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        make_runner("local", workers=0)
    with pytest.raises(ConfigError, match="connect timeout must be > 0 seconds, got 0"):
        make_runner("dask", address="tcp://127.0.0.1:8786", timeout=0)

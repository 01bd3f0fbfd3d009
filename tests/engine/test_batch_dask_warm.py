"""A Dask worker that joins a running cluster is warmed like the others (engine.batch.dask_warm.WarmWorkers):
`client.run` reached only the workers connected at that moment, the worker plugin reaches later ones too."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from engine.batch.runners import DaskRunner, run_batch
from engine.batch.warm import needs_of, warmed
from tests.engine.batch_helpers import grid_batch


def _warmed_by_pid(runner: DaskRunner) -> dict[int, frozenset[str]]:
    pids = runner._client.run(os.getpid)
    done = runner._client.run(warmed)
    return {pids[address]: done[address] for address in pids}


@pytest.mark.slow
def test_a_worker_that_joins_later_is_warmed_with_the_batchs_needs(home: Path) -> None:
    batch = parse_batch(grid_batch(4), "grid4.yaml")
    needs = needs_of(batch.jobs)
    assert needs and all(n.startswith("strategy:") for n in needs)
    with DaskRunner(workers=1) as runner:  # a real LocalCluster on 127.0.0.1
        first = _warmed_by_pid(runner)
        assert len(first) == 1 and all("engine" in w for w in first.values())  # warm from the start
        runner.warm_up(batch.jobs)
        assert all(set(needs) <= w for w in _warmed_by_pid(runner).values())
        runner._cluster.scale(2)
        runner._client.wait_for_workers(2, timeout=120)
        deadline = time.monotonic() + 120
        while True:  # the plugin's setup may still be running on the new worker
            now = _warmed_by_pid(runner)
            late = {pid: w for pid, w in now.items() if pid not in first}
            if (late and all({"engine", *needs} <= w for w in late.values())) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(late) == 1 and os.getpid() not in late
        assert all({"engine", *needs} <= w for w in late.values()), late
        queue = JobQueue()
        batch_id = queue.submit(batch)
        assert run_batch(queue, batch_id, runner, heartbeat=0.5)["done"] == 4  # the warmed cluster runs the jobs

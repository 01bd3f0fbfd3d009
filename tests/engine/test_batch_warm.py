"""Warm worker processes (issue 19 item 3): a batch runner's processes load the engine, numba's kernels and what
the batch's jobs need once, before the jobs; a process that replaces a killed one starts warm; and warming
changes when code loads, never a number (1 vs 2 warm workers vs the interpreted tier in this process)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine import jit
from engine.batch import parse_batch
from engine.batch.jobs import compute_job
from engine.batch.queue import JobQueue
from engine.batch.runners import LocalRunner, run_batch
from engine.batch.warm import ARTIFACTS, needs_of, warmed
from engine.research.pool import ProcessPool, WorkerLost
from engine.store.runs import RunStore
from tests.faults.user_code_helpers import wait_for

BATCH = """
name: warm
defaults: {start: 2015-01-01, end: 2020-12-31, artifacts: true, config: {costs: {commission_bps: 2}, risk: {stop_loss: 0.08}}}
matrix:
  strategies: [rsi_reversion, bollinger_rsi, {strategy: sma_cross, params: {fast: 10, slow: 50}}]
  symbols: [XLK, XLE]
"""


def _probe() -> tuple[bool, bool, frozenset[str]]:
    """In a pool process: (a compiled kernel is loaded, plotly is imported, the needs warmed)."""
    return jit._compiler_ready(), "plotly" in sys.modules, warmed()


def test_needs_name_artifacts_and_each_distinct_strategy_set_up_once() -> None:
    jobs = parse_batch(BATCH, "warm.yaml").jobs
    assert len(jobs) == 6
    needs = needs_of(jobs)
    assert needs[0] == ARTIFACTS and len(needs) == 4  # 3 set-ups, the 2 symbols of each share it
    assert [n for n in needs if '"strategy": "rsi_reversion"' in n and '"stop_loss": 0.08' in n]
    assert needs_of(j for j in jobs if False) == ()


@pytest.mark.slow
def test_warm_up_loads_kernels_and_plotly_in_every_process_before_any_job(home: Path) -> None:
    jobs = parse_batch(BATCH, "warm.yaml").jobs
    with LocalRunner(workers=2) as runner:
        runner.warm_up(jobs)
        answers = [f.result(timeout=120) for f in [runner.submit_call(_probe) for _ in range(4)]]
    for compiled, plotly, done in answers:
        assert plotly and set(needs_of(jobs)) | {"engine"} <= done
        assert compiled == jit.is_warm()  # numba's cache warm: its kernels are loaded, not interpreted per job


def _slow(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.mark.slow
def test_a_process_replacing_a_killed_one_starts_warm_and_only_the_killed_call_fails(home: Path) -> None:
    with LocalRunner(workers=2) as runner:
        runner.warm_up()
        pool = runner._pool
        held = [runner.submit_call(_slow, 30.0), runner.submit_call(_slow, 1.0)]
        wait_for(lambda: len(pool.running()) == 2, "both calls to run")
        victim = pool.running()[held[0]]
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(WorkerLost, match=f"pool process {victim} died"):
            held[0].result(timeout=120)
        assert held[1].result(timeout=120) != victim
        wait_for(lambda: len(pool.pids()) == 2 and victim not in pool.pids(), "a new process")
        # every process answers warm at once: the replacement ran the initializer before it said ready
        for _ in range(4):
            assert "engine" in runner.submit_call(_probe).result(timeout=120)[2]


def _by_job(queue: JobQueue, batch_id: str) -> dict[str, tuple[dict[str, float], np.ndarray]]:
    store = RunStore(queue.path)
    jobs = queue.jobs(batch_id)
    assert set(jobs["status"]) == {"done"}, jobs[["name", "status", "error"]]
    out = {}
    for row in jobs.itertuples():
        result = store.load(row.run_id).result
        out[row.name] = (result.metrics, result.equity.to_numpy())
    return out


@pytest.mark.slow
def test_one_and_two_warm_workers_give_the_interpreted_tier_s_numbers_bit_for_bit(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = parse_batch(BATCH, "warm.yaml")
    queue = JobQueue()
    runs = {}
    for workers in (1, 2):
        batch_id = queue.submit(batch)
        with LocalRunner(workers=workers) as runner:
            runner.warm_up(batch.jobs)
            assert run_batch(queue, batch_id, runner, heartbeat=0.5)["done"] == 6
        runs[workers] = _by_job(queue, batch_id)
    # the reference: each job computed here, by the kernels' pure-Python twins (nothing compiled, nothing warmed)
    monkeypatch.setenv("IVYBT_JIT", "interpreted")
    for spec in batch.jobs:
        reference = compute_job(spec).result
        for workers in (1, 2):
            metrics, equity = runs[workers][spec.name]
            assert np.array_equal(equity, reference.equity.to_numpy()), (spec.name, workers)
            assert metrics.keys() == reference.metrics.keys()
            for key, value in reference.metrics.items():
                same = value == metrics[key] or (value != value and metrics[key] != metrics[key])  # NaN == NaN
                assert same, (spec.name, workers, key, value, metrics[key])
    assert len({round(m["sharpe"], 12) for m, _ in runs[2].values()}) == 6  # six distinct backtests


# --- the pool's initializer ----------------------------------------------------------------------------------

_INIT_PID = 0


def _remember_pid(tag: str) -> None:
    global _INIT_PID
    _INIT_PID = os.getpid()
    os.environ["IVYBT_TEST_INIT"] = tag


def _init_seen() -> tuple[int, str, int]:
    return _INIT_PID, os.environ.get("IVYBT_TEST_INIT", ""), os.getpid()


def _explode() -> None:
    raise RuntimeError("initializer failed")


def test_pool_initializer_runs_in_each_process_before_its_first_call() -> None:
    with ProcessPool(2, initializer=_remember_pid, initargs=("warm",)) as pool:
        wait_for(lambda: len(pool.pids()) == 2, "two pool processes")
        for init_pid, tag, pid in [pool.submit_call(_init_seen).result(timeout=120) for _ in range(4)]:
            assert (init_pid, tag) == (pid, "warm")


def test_a_failing_initializer_breaks_the_pool_instead_of_looping() -> None:
    with ProcessPool(1, initializer=_explode) as pool:
        future = pool.submit_call(os.getpid)
        with pytest.raises(WorkerLost, match="3 processes in a row died while starting"):
            future.result(timeout=120)

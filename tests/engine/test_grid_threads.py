"""engine.sim.grid_threads: the grid's thread pool is made once and kept, a cancelled grid leaves nothing of its
own running on it, and a forked child (which inherits the pool object without its threads) makes its own."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.sim.grid import expand_grid, run_grid
from engine.sim.grid_threads import Runner, grid_pool
from engine.strategies.registry import get_strategy

pytestmark = pytest.mark.usefixtures("home")


@pytest.fixture(scope="module")
def spy():
    return load_market_data(["SPY"], start="2015-01-01", end="2020-12-31")


def _grid(data, workers: int):
    cls = get_strategy("ema_cross")  # the general path (chunks on the pool) as well as sma_cross's compiled one
    sets = expand_grid({"fast": [5, 10, 15], "slow": [20, 40, 60, 80]}, strategy_cls=cls)
    return run_grid(data, cls, sets, BacktestConfig(), workers=workers)


def test_two_grids_run_on_the_same_threads(spy) -> None:
    assert grid_pool(1) is None and grid_pool(2) is grid_pool(2) and grid_pool(3) is not grid_pool(2)
    names_before = {t.ident for t in threading.enumerate() if t.name.startswith("ivybt-grid-2")}
    first = _grid(spy, 2)
    names = {t.ident for t in threading.enumerate() if t.name.startswith("ivybt-grid-2")}
    assert 1 <= len(names) <= 2 and names_before <= names
    second = _grid(spy, 2)
    assert {t.ident for t in threading.enumerate() if t.name.startswith("ivybt-grid-2")} == names  # no new threads
    assert first.metrics.equals(second.metrics) and first.metrics.equals(_grid(spy, 1).metrics)


def test_cancel_waits_for_the_running_batches_and_drops_the_rest() -> None:
    pool = grid_pool(2)
    started, finished = [], []

    def batch(start: int, stop: int) -> None:
        started.append(start)
        time.sleep(0.05)
        finished.append(start)

    stop_now = threading.Event()
    runner = Runner(20, 2, progress=lambda done, total: stop_now.set(), should_stop=stop_now.is_set)
    with pytest.raises(ConfigError, match="cancelled"):
        runner.run(batch, [(k, k + 1) for k in range(20)], pool)
    runner.cancel()
    assert sorted(started) == sorted(finished)  # nothing of it still running on the shared pool
    assert 2 <= len(started) < 20  # the batches not started yet were dropped


def _child_grid(queue) -> None:
    data = load_market_data(["SPY"], start="2015-01-01", end="2020-12-31")
    queue.put(float(_grid(data, 2).metrics["sharpe"].sum()))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # the point of the test
def test_a_forked_child_runs_grids_on_threads_of_its_own(spy) -> None:
    want = float(_grid(spy, 2).metrics["sharpe"].sum())  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_grid, args=(queue,))
    child.start()
    child.join(timeout=120)
    if child.is_alive():  # the inherited pool has no threads: its batches would never run
        child.kill()
        pytest.fail("a grid in a forked child did not finish within 120 s")
    assert child.exitcode == 0
    assert queue.get(timeout=5) == want

"""The grid streams in chunks: results do not depend on the chunk size, and a grid keeps its metrics, not its
(bars x sets) arrays, unless asked for the equity curves."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.grid_memory import GRIDS
from engine.config import BacktestConfig, Costs, Risk
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.sim import grid as grid_module
from engine.sim.grid import chunk_size, default_workers, expand_grid, run_grid
from engine.sim.grid_threads import batch_bounds
from engine.sim.simulate import run_backtest
from engine.strategies.registry import get_strategy

COSTS = BacktestConfig(costs=Costs(commission_bps=5, slippage_bps=2))


@pytest.fixture(scope="module")
def spy():
    return load_market_data(["SPY"], start="2005-01-01")


@pytest.fixture(scope="module")
def sets():
    found = expand_grid({"fast": [5, 10, 20, 40], "slow": [20, 50, 100, 200]}, strategy_cls=get_strategy("sma_cross"))
    assert len(found) == 14  # 16 minus (20, 20) and (40, 20)
    return found


def test_a_chunked_grid_equals_one_chunk_to_the_bit(spy, sets):
    cls = get_strategy("sma_cross")
    whole = run_grid(spy, cls, sets, COSTS, workers=2, keep_equity=True, chunk_sets=len(sets))
    chunked = run_grid(spy, cls, sets, COSTS, workers=2, keep_equity=True, chunk_sets=5)  # 5 + 5 + 4
    pd.testing.assert_frame_equal(chunked.metrics, whole.metrics, check_exact=True)
    pd.testing.assert_frame_equal(chunked.equity, whole.equity, check_exact=True)
    pd.testing.assert_frame_equal(chunked.params, whole.params, check_exact=True)
    # a set of the last, partial chunk against its own backtest (an independent run)
    k = 11
    single = run_backtest(spy, cls(sets[k]), COSTS)
    np.testing.assert_array_equal(chunked.equity[k].to_numpy(), single.equity.to_numpy())
    for key in ("total_return", "sharpe", "max_drawdown", "n_trades", "win_rate", "exposure", "turnover", "beta"):
        a, b = chunked.metrics.loc[k, key], single.metrics[key]
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15), key


@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_only_chunks_equal_one_chunk_on_one_thread_and_on_a_pool(spy, sets, workers):
    """Without kept curves the chunks share reused rows: one thread (one set of rows) must measure each chunk
    before the next one overwrites it (it measured the next chunk's equity before this test)."""
    cls = get_strategy("sma_cross")
    whole = run_grid(spy, cls, sets, COSTS, workers=workers, keep_equity=False, chunk_sets=len(sets))
    chunked = run_grid(spy, cls, sets, COSTS, workers=workers, keep_equity=False, chunk_sets=5)  # 5 + 5 + 4
    pd.testing.assert_frame_equal(chunked.metrics, whole.metrics, check_exact=True)
    single = run_backtest(spy, cls(sets[2]), COSTS)  # a set of the first chunk, against its own backtest
    assert chunked.metrics.loc[2, "total_return"] == pytest.approx(single.metrics["total_return"], rel=1e-12)


def test_chunks_with_per_set_stops_and_the_loss_stop_equal_single_backtests():
    data = load_market_data(["SPY", "TLT", "GLD"], start="2010-01-01")
    cls = get_strategy("ema_trend")  # stops per parameter set (sl_atr)
    sets = [{"length": 20}, {"length": 50, "sl_atr": 1.5}, {"length": 30, "sl_atr": 2.0}]
    config = BacktestConfig(costs=Costs(commission_bps=2), risk=Risk(stop_loss=0.05), max_consecutive_losses=2)
    chunked = run_grid(data, cls, sets, config, workers=2, keep_equity=True, chunk_sets=1)
    for k, params in enumerate(sets):
        single = run_backtest(data, cls(params), config)
        np.testing.assert_array_equal(chunked.equity[k].to_numpy(), single.equity.to_numpy())
        for key in ("total_return", "sharpe", "n_trades", "avg_gross_exposure"):
            a, b = chunked.metrics.loc[k, key], single.metrics[key]
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15), key


def test_a_metrics_only_grid_holds_no_bars_by_sets_array(spy, sets):
    cls = get_strategy("sma_cross")
    lean = run_grid(spy, cls, sets, COSTS, keep_equity=False, chunk_sets=4)
    full = run_grid(spy, cls, sets, COSTS, keep_equity=True)
    pd.testing.assert_frame_equal(lean.metrics, full.metrics, check_exact=True)
    assert lean.equity.shape == (len(spy), 0) and lean.equity.index.equals(spy.index)
    cells = len(spy) * len(sets)
    for f in dataclasses.fields(lean):
        value = getattr(lean, f.name)
        if isinstance(value, (pd.DataFrame, np.ndarray)):
            assert value.size < cells / 10, f.name  # metrics: sets x ~50, params: sets x 4


def test_the_default_keeps_curves_up_to_equity_cells(spy, sets, monkeypatch):
    cls = get_strategy("sma_cross")
    cells = len(spy) * len(sets)
    monkeypatch.setattr(grid_module, "EQUITY_CELLS", cells)
    assert run_grid(spy, cls, sets, COSTS).equity.shape == (len(spy), len(sets))
    monkeypatch.setattr(grid_module, "EQUITY_CELLS", cells - 1)
    assert run_grid(spy, cls, sets, COSTS).equity.shape == (len(spy), 0)


def test_progress_counts_the_whole_grid_and_cancel_stops_between_chunks(spy, sets):
    cls = get_strategy("sma_cross")
    seen: list[tuple[int, int]] = []
    run_grid(spy, cls, sets, workers=1, chunk_sets=5, progress=lambda d, n: seen.append((d, n)))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (14, 14)
    assert {n for _, n in seen} == {14}
    calls = []

    def stop_after_first_chunk() -> bool:
        calls.append(1)
        return len(seen) > 0 and len(calls) > 5

    seen.clear()
    with pytest.raises(ConfigError, match="cancelled"):
        run_grid(spy, cls, sets, workers=1, chunk_sets=5, progress=lambda d, n: seen.append((d, n)),
                 should_stop=stop_after_first_chunk)  # fmt: skip
    assert 0 < seen[-1][0] < 14
    with pytest.raises(ConfigError, match="chunk_sets must be >= 1, got 0"):
        run_grid(spy, cls, sets, chunk_sets=0)


def test_chunk_size_follows_the_memory_budget():
    # 1,000 bars, 1 symbol: 8 * 1,000 * (1 + 6) = 56,000 bytes a set
    assert chunk_size(1_000, 1, 10_000, 2, budget=56_000 * 50) == 50
    assert chunk_size(1_000, 1, 10_000, 2, budget=56_000 * 50 + 55_999) == 50
    assert chunk_size(1_000, 1, 10_000, 4, budget=56_000) == 16  # at least 4 sets per thread
    assert chunk_size(1_000, 1, 30, 2, budget=56_000 * 50) == 30  # never more than the grid
    assert chunk_size(1_000, 3, 10_000, 1, budget=8 * 1_000 * 9 * 10) == 10  # 3 symbols: 9 rows a set
    # the default budget on SPY-sized data: a 100,000-set grid runs in chunks of a few hundred sets
    assert 50 <= chunk_size(8_400, 1, 100_000, 2) <= 1_000


def test_default_workers_reads_the_environment(monkeypatch):
    monkeypatch.delenv("IVYBT_GRID_WORKERS", raising=False)
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    assert default_workers() == (__import__("os").cpu_count() or 1)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    assert default_workers() == 1
    monkeypatch.setenv("IVYBT_GRID_WORKERS", "3")
    assert default_workers() == 3  # the grid's own variable first
    monkeypatch.setenv("IVYBT_GRID_WORKERS", "0")
    with pytest.raises(ConfigError, match="IVYBT_GRID_WORKERS='0': a whole number of threads >= 1"):
        default_workers()
    monkeypatch.setenv("IVYBT_GRID_WORKERS", "1.5")
    with pytest.raises(ConfigError, match="IVYBT_GRID_WORKERS='1.5'"):
        default_workers()


def test_the_memory_benchmark_grids_have_the_counts_they_claim():
    for label, count in (("10k", 10_000), ("100k", 100_000)):
        ranges = GRIDS[label]
        assert math.prod(len(v) for v in ranges.values()) == count
        assert min(ranges["slow"]) > max(ranges["fast"])  # every set valid: none is pruned


@pytest.mark.parametrize("n", [1, 2, 3, 7, 90, 91, 2265, 100_000])
@pytest.mark.parametrize("workers, most", [(1, 64), (2, 64), (2, 11), (3, 5), (4, 64)])
def test_batches_cover_every_set_once_and_give_each_thread_the_same_work(n: int, workers: int, most: int) -> None:
    bounds = batch_bounds(n, workers, most)
    assert [i for a, b in bounds for i in range(a, b)] == list(range(n))  # in order, each set once
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1 and max(sizes) <= max(most, 1)
    if n >= 4 * workers:
        assert len(bounds) % workers == 0  # as many batches per thread (fewer sets: one set a batch)
    assert len(bounds) >= min(n, 4 * workers)  # several per thread: progress and cancel come often

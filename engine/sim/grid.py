"""Many backtests of one strategy at once: the fast path under optimization, walk-forward and batches.

Every parameter set runs through the same compiled kernel as `run_backtest` (so set k equals a single
backtest of parameter set k exactly), in threads that release the GIL, one per core (`default_workers`).
Weights come from the strategy's optional `grid_weights` classmethod, which computes each distinct indicator
once for all parameter sets of a chunk; strategies without it are run one parameter set at a time.

The grid streams: the sets run in chunks sized to `CHUNK_BYTES` (`chunk_size`), each chunk's metrics are
computed column-wise in one call (the metric registry's functions) into the metrics table, and the chunk's
buffers (equity, gross exposure, turnover: chunk x bars) are reused by the next chunk. Only the metrics of
every set are kept, plus every set's equity curve when asked (`keep_equity`), so memory does not grow with
bars x sets: a 100,000-set grid fits where its equity alone would take 6.7 GB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine import jit
from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.metrics import METRIC_NAMES, metric_columns
from engine.sim.benchmark import buy_and_hold_values, resolve_benchmark
from engine.sim.grid_cross import fast_inputs, run_cross_grid
from engine.sim.grid_cross import supported as cross_supported
from engine.sim.grid_threads import Progress, Runner, batch_bounds, default_workers, grid_pool
from engine.sim.kernels import simulate_kernel
from engine.sim.memory import retain_freed_memory
from engine.sim.simulate import (
    benchmark_values,
    financing_settings,
    kernel_settings,
    loss_stop,
    rebalance_mask,
    stop_arrays,
)
from engine.sim.sizing import OFF, sized_weights, sizing_inputs
from engine.sim.trades import trade_records
from engine.strategies.base import Strategy, make_params
from engine.strategies.boundary import call_strategy

CHUNK_BYTES = 64 * 2**20
"""Memory budget of one chunk's per-set arrays (weights, equity, exposure, turnover and the metrics' temporaries,
see `chunk_size`); each (bars x chunk) float64 array stays under glibc's 32 MB mmap threshold, so the memory of
one chunk is reused by the next instead of being mapped and faulted in again."""
METRIC_COLUMNS = pd.Index(METRIC_NAMES)
"""The metrics table's columns, built once (an Index of strings costs ~40 us to build; it is immutable)."""
EQUITY_CELLS = 4_000_000
"""`run_grid` keeps every set's equity curve by default only up to bars x sets = this (32 MB of float64)."""


@dataclass
class GridResult:
    """params: one row per parameter set (columns = parameter names); metrics: one row per parameter set
    (engine.metrics names); equity: (bars x kept) equity curves, column k = set k, with every set when
    `run_grid` kept them (keep_equity) and no column otherwise."""

    strategy: str
    params: pd.DataFrame
    equity: pd.DataFrame
    metrics: pd.DataFrame
    config: BacktestConfig

    def table(self) -> pd.DataFrame:
        """Parameters and metrics side by side, one row per parameter set."""
        return pd.concat([self.params, self.metrics], axis=1)


def chunk_size(n_bars: int, n_symbols: int, n_sets: int, workers: int, budget: int = CHUNK_BYTES) -> int:
    """Sets per chunk: as many as fit `budget` bytes at 8 * bars * (symbols + 6) bytes a set (its weights, its
    equity, exposure and turnover rows, and three rows of the metrics' temporaries), at least 4 per thread."""
    per_set = 8 * max(n_bars, 1) * (max(n_symbols, 1) + 6)
    return max(1, min(n_sets, max(budget // per_set, 4 * workers)))


def _weights_for(strategy_cls: type[Strategy], data: MarketData, params: list[Any]) -> list[np.ndarray]:
    many = strategy_cls.grid_weights(data, params)  # None: no fast path for this (sub)class
    if many is not None:
        return list(many)
    out = []
    for p in params:
        w = call_strategy(strategy_cls(p), "target_weights", data)
        out.append(np.ascontiguousarray(w.reindex(index=data.index, columns=data.close.columns).to_numpy("float64")))
    return out


def run_grid(
    data: MarketData,
    strategy_cls: type[Strategy],
    param_sets: Sequence[Mapping[str, Any]],
    config: BacktestConfig | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    benchmark_close: pd.Series | None = None,
    keep_equity: bool | None = None,
    chunk_sets: int | None = None,
) -> GridResult:
    """Backtest every parameter set of `strategy_cls` on `data`; results equal `run_backtest` per set.

    benchmark_close: the closes of a benchmark the sets do not trade (as `run_backtest` takes it; reindexed to
    `data.index`, so a slice of the data gets the benchmark of its own bars).
    keep_equity: True keeps every set's equity curve in `GridResult.equity` (memory: bars x sets x 8 bytes);
    False keeps none (metrics only); None (default) keeps them when bars x sets <= EQUITY_CELLS.
    chunk_sets: sets per chunk (default `chunk_size`: a memory budget); the results do not depend on it.
    workers: threads (default `default_workers()`).

    progress(done, total) is called as sets finish; should_stop() -> True cancels the rest (raises
    ConfigError("cancelled")) so a UI can offer a cancel button.
    """
    retain_freed_memory()  # engine.sim.memory: the next run reuses this one's pages
    config = config or BacktestConfig()
    if not param_sets:
        raise ConfigError("the parameter grid is empty")
    if chunk_sets is not None and chunk_sets < 1:
        raise ConfigError(f"chunk_sets must be >= 1, got {chunk_sets}")
    params = [make_params(strategy_cls.Params, p) for p in param_sets]
    K, T = len(params), len(data)
    workers = max(1, min(workers or default_workers(), K))
    keep = K * T <= EQUITY_CELLS if keep_equity is None else bool(keep_equity)
    size = chunk_sets or chunk_size(T, len(data.symbols), K, workers)
    bench_returns = _benchmark_returns(data, config, benchmark_close)
    kept = np.empty((K, T)) if keep else None
    fast = _fast_grid(
        data, strategy_cls, params, config, bench_returns, kept, workers, chunk_sets, progress, should_stop
    )
    if fast is not None:
        return _result(strategy_cls, params, fast, kept, data, config)
    sim = _Simulation(data, strategy_cls, params, config)
    bounds = [(start, min(start + size, K)) for start in range(0, K, size)]
    # (chunk, T) rows reused chunk after chunk: each set writes one contiguous row; `.T` is the (T, chunk) view
    # the metrics read column-wise. Two sets of them on a pool: one chunk simulates while the last is measured.
    buffers = [_Rows(min(size, K), T, kept is None) for _ in range(2 if workers > 1 and len(bounds) > 1 else 1)]
    metrics = {name: np.full(K, np.nan) for name in METRIC_NAMES}
    runner = Runner(K, workers, progress, should_stop)

    def measure(chunk: _Chunk) -> None:
        runner.wait(chunk.futures)
        trades = chunk.trades()
        _, columns = metric_columns(
            chunk.equity.T,
            initial_cash=config.initial_cash,
            periods_per_year=config.periods_per_year,
            index=data.index,
            benchmark_returns=bench_returns,
            trades={"column": trades[:, 0].astype(np.int64), "pnl": trades[:, 1], "return": trades[:, 2]},
            gross_exposure=chunk.gross.T,
            turnover=chunk.turnover.T,
        )
        for name, values in columns.items():
            metrics[name][chunk.start : chunk.stop] = values

    pool = grid_pool(workers)
    try:
        previous: _Chunk | None = None
        for n, (start, stop) in enumerate(bounds):
            rows = buffers[n % len(buffers)].view(stop - start, None if kept is None else kept[start:stop])
            chunk = sim.submit(start, stop, rows, runner, pool)  # its weights, then its sets on the pool
            if len(buffers) == 1:  # one set of rows (no pool): the next chunk would overwrite them, measure now
                measure(chunk)
                continue
            if previous is not None:
                measure(previous)  # while the pool simulates `chunk`
            previous = chunk
        if previous is not None:
            measure(previous)
    except BaseException:
        runner.cancel()
        raise
    return _result(strategy_cls, params, metrics, kept, data, config)


def _result(
    strategy_cls: type[Strategy],
    params: list[Any],
    metrics: dict[str, np.ndarray],
    kept: np.ndarray | None,
    data: MarketData,
    config: BacktestConfig,
) -> GridResult:
    names = list(params[0].__dict__)
    columns = zip(*(tuple(p.__dict__.values()) for p in params), strict=True)  # a column per parameter
    return GridResult(
        strategy=strategy_cls.name,
        params=pd.DataFrame({name: _column(values) for name, values in zip(names, columns, strict=True)}),
        equity=pd.DataFrame(kept.T if kept is not None else np.empty((len(data), 0)), index=data.index, copy=False),
        # one float block (a frame from a dict of columns costs 5x more to build, a third of a 90-set grid's Python)
        metrics=pd.DataFrame(np.column_stack([metrics[name] for name in METRIC_NAMES]), columns=METRIC_COLUMNS),
        config=config,
    )


def _column(values: tuple[Any, ...]) -> Any:
    """One parameter's values as a numpy array (pandas takes it ~2x faster than a list, same dtype), or as the
    list itself where they do not make a flat array (tuples, ragged values)."""
    try:
        array = np.array(values)
    except ValueError:
        return list(values)
    return array if array.ndim == 1 else list(values)


def _fast_grid(
    data: MarketData,
    strategy_cls: type[Strategy],
    params: list[Any],
    config: BacktestConfig,
    bench_returns: np.ndarray,
    kept: np.ndarray | None,
    workers: int,
    chunk_sets: int | None,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> dict[str, np.ndarray] | None:
    """The metrics of every set through engine.sim.grid_cross's compiled pass when the strategy and the config
    allow it (its `fast_inputs`), else None (the general path runs)."""
    spec = fast_inputs(data, strategy_cls, params, config) if cross_supported() else None
    if spec is None:
        return None
    K = len(params)
    # batched as Runner batches a chunk (64 sets at most, or the chunk size asked for)
    bounds = batch_bounds(K, workers, max(1, min(64, (chunk_sets or K) // (4 * workers))))
    runner = Runner(K, workers, progress, should_stop)
    pool = grid_pool(workers)
    try:
        return run_cross_grid(data, spec, config, bench_returns, kept, bounds, lambda fn, b: runner.run(fn, b, pool))
    except BaseException:
        runner.cancel()
        raise


def _benchmark_returns(data: MarketData, config: BacktestConfig, benchmark_close: pd.Series | None) -> np.ndarray:
    """Per-bar returns of the run's benchmark (as `run_backtest` measures against it), bar 0 from the cash."""
    if benchmark_close is not None:
        bench = buy_and_hold_values(benchmark_close.reindex(data.index).to_numpy(dtype="float64"), config.initial_cash)
    else:
        bench = benchmark_values(data, resolve_benchmark(config.benchmark, data.symbols), config.initial_cash)
    return np.concatenate(([bench[0] / config.initial_cash], bench[1:] / bench[:-1])) - 1.0


class _Simulation:
    """What every set of one grid shares (prices, rebalance mask, stops, sizing inputs, kernel settings) and the
    simulation of one chunk of sets into given rows."""

    def __init__(self, data: MarketData, strategy_cls: type[Strategy], params: list[Any], config: BacktestConfig):
        self.data, self.strategy_cls, self.params, self.config = data, strategy_cls, params, config
        self.arrays = data.to_arrays()
        self.rebal = jit.readonly(rebalance_mask(data.index, config.rebalance))
        has_custom_stops = strategy_cls.stop_fractions is not Strategy.stop_fractions
        self.shared_stops = None if has_custom_stops else stop_arrays(strategy_cls(params[0]), data, config)
        self.settings = kernel_settings(config)
        self.fin = financing_settings(config, data.symbols)  # the same financing as run_backtest's
        self.simulate = jit.kernel(simulate_kernel, len(params) * data.close.size)
        # shared by every set
        self.sizing = None if config.sizing.method == OFF else sizing_inputs(data, config, self.rebal)

    def submit(
        self, start: int, stop: int, rows: tuple[np.ndarray, ...], runner: Runner, pool: Executor | None
    ) -> _Chunk:
        """Sets start..stop-1 simulated into `rows` (equity, gross exposure, turnover; row i = set start + i): their
        weights computed here, then the sets run on `pool` (or here, without one)."""
        data, config, ro = self.data, self.config, jit.readonly
        weights = _weights_for(self.strategy_cls, data, self.params[start:stop])
        prices = (self.arrays["open"], self.arrays["high"], self.arrays["low"], self.arrays["close"])
        equity, gross, turnover = rows
        chunk = _Chunk(start, stop, equity, gross, turnover, [np.empty((0, 3))] * (stop - start))
        trade_parts = chunk.trade_parts
        T = len(data)

        def one(i: int) -> None:
            (sl, tp, ts), use_stops = self.shared_stops or stop_arrays(
                self.strategy_cls(self.params[start + i]), data, config
            )
            if self.sizing is not None:  # the sizing overlay, as run_backtest applies it
                weights[i] = sized_weights(data, config, weights[i], (sl, ts), self.rebal, self.sizing)
            outputs = self.simulate(
                *prices, ro(weights[i]), self.rebal, sl, tp, ts, *self.settings, use_stops, *self.fin
            )
            if config.max_consecutive_losses is not None:  # the optional overlay, as run_backtest applies it

                def rerun(w: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
                    return self.simulate(*prices, ro(w), ro(r), sl, tp, ts, *self.settings, use_stops, *self.fin)

                outputs, _ = loss_stop(rerun, outputs, weights[i], self.rebal, data, config)
            eq, _cash, _pos, _w, turn, gro, last_close, fills, _financing = outputs
            equity[i] = eq
            gross[i] = gro
            turnover[i] = turn
            raw = trade_records(fills, last_close, T)
            if len(raw):
                trade_parts[i] = np.column_stack((np.full(len(raw), i), raw[:, 7], raw[:, 7] / raw[:, 8]))

        chunk.futures = runner.submit(one, stop - start, pool)
        return chunk


class _Rows:
    """One set of (chunk, T) rows (equity unless the grid keeps every curve, gross exposure, turnover)."""

    def __init__(self, size: int, n_bars: int, own_equity: bool):
        self.equity = np.empty((size, n_bars)) if own_equity else None
        self.gross, self.turnover = np.empty((size, n_bars)), np.empty((size, n_bars))

    def view(self, n: int, kept: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first n rows of each (equity: `kept`, the grid's own rows of every curve, when given)."""
        equity = kept if kept is not None else self.equity
        assert equity is not None
        return equity[:n], self.gross[:n], self.turnover[:n]


@dataclass
class _Chunk:
    """A chunk of sets in flight: its rows, its trades (row within the chunk, pnl, return) and its batches."""

    start: int
    stop: int
    equity: np.ndarray
    gross: np.ndarray
    turnover: np.ndarray
    trade_parts: list[np.ndarray]
    futures: list[Future[int]] = field(default_factory=list)

    def trades(self) -> np.ndarray:
        return np.concatenate(self.trade_parts)


def expand_grid(
    ranges: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    strategy_cls: type[Strategy] | None = None,
) -> list[dict[str, Any]]:
    """Cartesian product of parameter ranges (plus fixed values).

    With `strategy_cls`, combinations its Params reject (e.g. fast >= slow) are skipped; if none is left the
    ConfigError names the first rejection.
    """
    keys = list(ranges)
    combos: list[dict[str, Any]] = [dict(fixed or {})]
    for key in keys:
        values = list(ranges[key])
        if not values:
            raise ConfigError(f"parameter range {key!r} is empty")
        combos = [{**c, key: v} for c in combos for v in values]
    if strategy_cls is None:
        return combos
    kept, first_error = [], None
    for c in combos:
        try:
            make_params(strategy_cls.Params, c)
            kept.append(c)
        except ConfigError as e:
            first_error = first_error or e
    if not kept:
        raise ConfigError(f"no valid parameter set in the grid: {first_error}")
    return kept

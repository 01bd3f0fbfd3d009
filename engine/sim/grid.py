"""Many backtests of one strategy at once: the fast path under optimization, walk-forward and batches.

Every parameter set runs through the same compiled kernel as `run_backtest` (so column k equals a single
backtest of parameter set k exactly), in threads that release the GIL, one per core. Weights come from the
strategy's optional `grid_weights` classmethod, which computes each distinct indicator once for all
parameter sets; strategies without it are run one parameter set at a time. Metrics are computed
column-wise in one call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine import jit
from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.metrics import metrics_table
from engine.sim.benchmark import buy_and_hold_values, resolve_benchmark
from engine.sim.kernels import simulate_kernel
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

Progress = Callable[[int, int], None]


@dataclass
class GridResult:
    """params: one row per parameter set (columns = parameter names); equity: (bars x K), column k = set k;
    metrics: one row per parameter set (engine.metrics names)."""

    strategy: str
    params: pd.DataFrame
    equity: pd.DataFrame
    metrics: pd.DataFrame
    config: BacktestConfig

    def table(self) -> pd.DataFrame:
        """Parameters and metrics side by side, one row per parameter set."""
        return pd.concat([self.params, self.metrics], axis=1)


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
) -> GridResult:
    """Backtest every parameter set of `strategy_cls` on `data`; results equal `run_backtest` per set.

    benchmark_close: the closes of a benchmark the sets do not trade (as `run_backtest` takes it; reindexed to
    `data.index`, so a slice of the data gets the benchmark of its own bars).

    progress(done, total) is called as sets finish; should_stop() -> True cancels the rest (raises
    ConfigError("cancelled")) so a UI can offer a cancel button.
    """
    config = config or BacktestConfig()
    if not param_sets:
        raise ConfigError("the parameter grid is empty")
    params = [make_params(strategy_cls.Params, p) for p in param_sets]
    arrays = data.to_arrays()
    weights = _weights_for(strategy_cls, data, params)
    rebal = rebalance_mask(data.index, config.rebalance)
    has_custom_stops = strategy_cls.stop_fractions is not Strategy.stop_fractions
    shared_stops = None if has_custom_stops else stop_arrays(strategy_cls(params[0]), data, config)
    settings = kernel_settings(config)
    fin = financing_settings(config, data.symbols)  # the same financing as run_backtest's
    K, T = len(params), len(data)
    # (K, T) rows: each set writes one contiguous row; `.T` is the (T, K) view metrics read column-wise
    equity = np.empty((K, T))
    gross = np.empty((K, T))
    turnover = np.empty((K, T))
    trade_parts: list[np.ndarray] = [np.empty((0, 3))] * K

    simulate = jit.kernel(simulate_kernel, K * data.close.size)
    ro = jit.readonly
    rebal = ro(rebal)
    sizing = None if config.sizing.method == OFF else sizing_inputs(data, config, rebal)  # shared by every set

    def one(k: int) -> None:
        (sl, tp, ts), use_stops = shared_stops or stop_arrays(strategy_cls(params[k]), data, config)
        if sizing is not None:  # the sizing overlay, as run_backtest applies it
            weights[k] = sized_weights(data, config, weights[k], (sl, ts), rebal, sizing)
        outputs = simulate(
            arrays["open"],
            arrays["high"],
            arrays["low"],
            arrays["close"],
            ro(weights[k]),
            rebal,
            sl,
            tp,
            ts,
            *settings,
            use_stops,
            *fin,
        )
        if config.max_consecutive_losses is not None:  # the optional overlay, as run_backtest applies it

            def rerun(w: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, ...]:
                prices = (arrays["open"], arrays["high"], arrays["low"], arrays["close"])
                return simulate(*prices, ro(w), ro(r), sl, tp, ts, *settings, use_stops, *fin)

            outputs, _ = loss_stop(rerun, outputs, weights[k], rebal, data, config)
        eq, _cash, _pos, _w, turn, gro, last_close, fills, _financing = outputs
        equity[k] = eq
        gross[k] = gro
        turnover[k] = turn
        raw = trade_records(fills, last_close, T)
        if len(raw):
            trade_parts[k] = np.column_stack((np.full(len(raw), k), raw[:, 7], raw[:, 7] / raw[:, 8]))

    _run_parallel(one, K, workers, progress, should_stop)
    trades = np.concatenate(trade_parts) if K else np.empty((0, 3))
    if benchmark_close is not None:
        bench = buy_and_hold_values(benchmark_close.reindex(data.index).to_numpy(dtype="float64"), config.initial_cash)
    else:
        bench = benchmark_values(data, resolve_benchmark(config.benchmark, data.symbols), config.initial_cash)
    bench_returns = np.concatenate(([bench[0] / config.initial_cash], bench[1:] / bench[:-1])) - 1.0
    table = metrics_table(
        equity.T,
        initial_cash=config.initial_cash,
        periods_per_year=config.periods_per_year,
        index=data.index,
        benchmark_returns=bench_returns,
        trades={"column": trades[:, 0].astype(np.int64), "pnl": trades[:, 1], "return": trades[:, 2]},
        gross_exposure=gross.T,
        turnover=turnover.T,
    )
    params_df = pd.DataFrame([dict(p.__dict__) for p in params])
    return GridResult(
        strategy=strategy_cls.name,
        params=params_df,
        equity=pd.DataFrame(equity.T, index=data.index),
        metrics=table.reset_index(drop=True),
        config=config,
    )


def _run_parallel(
    fn: Callable[[int], None],
    n: int,
    workers: int | None,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Run fn(0..n-1) on a thread pool (the kernels release the GIL), reporting progress in order of completion."""
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    chunk = max(1, min(64, n // (workers * 4) or 1))
    batches = [range(i, min(i + chunk, n)) for i in range(0, n, chunk)]

    def run_batch(batch: Iterable[int]) -> int:
        count = 0
        for k in batch:
            fn(k)
            count += 1
        return count

    if workers == 1 or len(batches) == 1:
        done = 0
        for batch in batches:
            if should_stop and should_stop():
                raise ConfigError("cancelled")
            done += run_batch(batch)
            if progress:
                progress(done, n)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = 0
        futures = [pool.submit(run_batch, b) for b in batches]
        for fut in futures:
            if should_stop and should_stop():
                for f in futures:
                    f.cancel()
                raise ConfigError("cancelled")
            done += fut.result()
            if progress:
                progress(done, n)


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

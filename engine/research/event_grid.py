"""Parameter sets of an event strategy, each run by the event simulator: what `run_grid` is for weights strategies.

An event strategy decides bar by bar, so there is no shared vectorized work across sets: each set is one
`run_event_backtest` (the optimizer's and walk-forward's table has the same columns either way). `run_any_grid`
picks the runner by the strategy's kind, so the optimizer and walk-forward call one function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.sim.event.run import run_event_backtest
from engine.sim.grid import EQUITY_CELLS, GridResult, Progress, run_grid
from engine.strategies.base import make_params
from engine.strategies.events import EventStrategy


def run_event_grid(
    data: MarketData,
    strategy_cls: type[EventStrategy],
    param_sets: Sequence[Mapping[str, Any]],
    config: BacktestConfig | None = None,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    benchmark_close: pd.Series | None = None,
    keep_equity: bool | None = None,
    **_: Any,
) -> GridResult:
    """One event backtest per parameter set, in order; the table's metrics are each run's `metrics`."""
    config = config or BacktestConfig()
    keep = keep_equity if keep_equity is not None else len(data) * len(param_sets) <= EQUITY_CELLS  # as run_grid
    metrics, curves = [], {}
    for k, params in enumerate(param_sets):
        if should_stop is not None and should_stop():
            raise ConfigError("cancelled")
        result = run_event_backtest(data, strategy_cls(dict(params)), config, benchmark_close=benchmark_close)
        metrics.append(result.metrics)
        if keep:
            curves[k] = result.equity
        if progress is not None:
            progress(k + 1, len(param_sets))
    equity = pd.DataFrame(curves, index=data.index) if curves else pd.DataFrame(index=data.index)
    full = [dataclasses.asdict(make_params(strategy_cls.Params, dict(p))) for p in param_sets]  # every field
    params = pd.DataFrame(full, index=pd.RangeIndex(len(param_sets)))
    return GridResult(strategy_cls.name, params, equity, pd.DataFrame(metrics, index=params.index), config)


def run_any_grid(strategy_cls: type[Any], **kwargs: Any) -> GridResult:
    """`run_event_grid` for an event strategy, `engine.sim.grid.run_grid` for a weights strategy."""
    if isinstance(strategy_cls, type) and issubclass(strategy_cls, EventStrategy):
        return run_event_grid(strategy_cls=strategy_cls, **kwargs)
    return run_grid(strategy_cls=strategy_cls, **kwargs)

"""Walk-forward analysis: optimize in-sample, trade the chosen parameters out-of-sample, window after window.

For each window of `engine.research.splits.split_windows` (rolling or anchored):
1. `run_optimization` runs on the in-sample (IS) bars only, so no out-of-sample (OOS) bar can influence the
   chosen parameters (the test replaces every later bar and checks the choices do not move).
2. The chosen set is simulated (through `run_grid`) on the bars from the IS start through the OOS end —
   data up to the OOS end only, and the IS bars give indicators their warm-up — and the OOS part of its
   equity is kept as per-bar returns: r[t] = equity[t] / equity[t-1] - 1 for each OOS bar t (the first one
   relative to the last IS close). A position the chosen set would hold at the IS end is carried into the
   OOS, as if the set had been traded all along; its entry cost falls in the IS part.
3. OOS returns of all windows are chained into one stitched equity curve starting at the initial cash.

A window where no parameter set is feasible (min_trades, constraints) stays in cash out-of-sample.

Walk-forward efficiency (Pardo): annualized OOS return / annualized IS return = CAGR of the stitched OOS
equity divided by the mean in-sample CAGR of the chosen sets (NaN when that mean is <= 0, where the ratio
means nothing). `objective_efficiency` is the same ratio for the objective: mean OOS objective / mean IS
objective. OOS metrics are computed from the OOS equity alone, so trade-based metrics (n_trades, win_rate,
...) are NaN out-of-sample; choose an equity-based objective (sharpe, cagr, calmar, ...) for walk-forward.

Windows are independent: with workers > 1 they run on a `ProcessPool` (`engine.research.pool`), or on any
runner given (a batch runner: the local pool or Dask), each window getting only its own bars (IS start ..
OOS end); the result is identical to the serial run. `save_walkforward` stores the stitched OOS equity as a run with the chosen set of every window.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import AfterValidator, StrictBool, StrictInt, StrictStr, ValidationInfo
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.data import load_market_data
from engine.data.market import FIELDS, MarketData
from engine.errors import ConfigError
from engine.metrics import backtest_metrics, metrics_table, registry
from engine.request import BacktestRequest
from engine.research.event_grid import run_any_grid
from engine.research.optimize import ObjectiveFn, OptimizeSpec, run_optimization, search_space
from engine.research.pool import CallRunner, ProcessPool
from engine.research.splits import Window, parse_length, split_windows
from engine.sim.grid import Progress
from engine.sim.result import FILL_COLUMNS, TRADE_COLUMNS, BacktestResult
from engine.store.runs import RunStore
from engine.strategies.registry import strategy_class
from engine.validation import FORBID, parse, validated

STABILITY_METRICS: tuple[str, ...] = registry.STABILITY
"""Metrics kept per window and parameter set in the stability surface (the objective is always included)."""


def _window_length(value: int | str, info: ValidationInfo) -> int | str:
    """A window length as `parse_length` reads it ("in_sample" is named "in-sample" in its message)."""
    try:
        parse_length(value, str(info.field_name).replace("_", "-"))
    except ConfigError as e:
        raise ValueError(f"bad window length: {e}") from None
    return value


WindowLength = Annotated[StrictInt | StrictStr, AfterValidator(_window_length)]
"""Bars (250 or "250") or a calendar span ("3Y", "18M", "26W", "90D")."""


@validated("walk-forward")
@pydantic_dataclass(frozen=True, config=FORBID)
class WalkForwardSpec:
    """A walk-forward run: the optimization to repeat and the window lengths.

    in_sample / out_of_sample: bars (250 or "250") or calendar spans ("3Y", "18M", "26W", "90D"); the step
    between windows is the OOS length. anchored: every in-sample window starts at the first bar.
    optimize: an `OptimizeSpec` or a mapping of its fields.
    """

    optimize: OptimizeSpec
    in_sample: WindowLength
    out_of_sample: WindowLength
    anchored: StrictBool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimize": self.optimize.to_dict(),
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "anchored": self.anchored,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> WalkForwardSpec:
        """Inverse of `to_dict` (also for YAML/JSON files); errors name the field and the value."""
        return parse(cls, values)


@dataclass
class WalkForwardResult:
    """The outcome of `run_walkforward`.

    windows: one row per window: window, is_start, is_end, oos_start, oos_end (first/last bar timestamps,
        inclusive), is_bars, oos_bars, the chosen value of each searched parameter (NaN when no set was
        feasible), feasible, is_objective, oos_objective, is_cagr, oos_cagr, oos_return (total OOS return of
        the window, a fraction).
    oos_equity: stitched OOS equity (initial cash x chained OOS returns), one value per OOS bar.
    efficiency: stitched OOS CAGR / mean IS CAGR of the chosen sets (NaN when the IS mean is <= 0).
    stability: long form, one row per window x parameter set x metric: window, searched params..., metric, value.
    oos_metrics: metrics of the stitched OOS equity (equity-based; trade metrics are NaN).
    objective_efficiency: mean OOS objective / mean IS objective (NaN when the IS mean is <= 0).
    """

    spec: WalkForwardSpec
    windows: pd.DataFrame
    oos_equity: pd.Series
    efficiency: float
    stability: pd.DataFrame
    oos_metrics: dict[str, float]
    objective_efficiency: float = float("nan")
    elapsed: float = 0.0
    chosen: list[dict[str, Any]] = field(default_factory=list)
    """The full chosen parameter set of each window ({} where none was feasible)."""
    oos_returns: pd.Series | None = None
    """The chained per-bar OOS returns behind `oos_equity`."""


def rows(data: MarketData, start: int, stop: int) -> MarketData:
    """Bars [start, stop) of `data` by position."""
    return MarketData(**{f: getattr(data, f).iloc[start:stop] for f in FIELDS})


@dataclass
class WindowOutcome:
    """What one window produced: its table row, its IS stability surface, its OOS returns, the chosen set."""

    record: dict[str, Any]
    surface: pd.DataFrame
    oos_returns: pd.Series
    chosen: dict[str, Any]


def run_walkforward(
    spec: WalkForwardSpec,
    *,
    data: MarketData | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    objective_fn: ObjectiveFn | None = None,
    workers: int | None = None,
    runner: CallRunner | None = None,
) -> WalkForwardResult:
    """Optimize on each in-sample window, evaluate out-of-sample, stitch the OOS equity (module docstring).

    Args:
        spec: the optimization and the window lengths.
        data: bars to use as given; None loads the optimize spec's symbols and dates once.
        progress: progress(windows done, windows) after each window. should_stop: checked by every
            run_grid call (serial) or after each finished window (pool); True cancels with
            ConfigError("cancelled").
        objective_fn: as in `run_optimization` (module-level, i.e. picklable, for the process pool).
        workers: None or 1 = windows one after another, each grid on `workers` threads (None = one per
            core); > 1 = windows in parallel on a `ProcessPool` of that many processes (one thread each).
            Both give identical results.
        runner: an open runner to use (and leave open) instead of starting a pool: a batch runner
            (`engine.batch.runners`, local or Dask) or a `ProcessPool`.
    """
    began = time.perf_counter()
    opt = spec.optimize
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ConfigError(f"walk-forward: workers must be >= 1, got {workers!r}")
    searched = list(search_space(strategy_class(opt.strategy), opt))
    if data is None:
        data = load_market_data(list(opt.symbols), opt.start, opt.end, opt.data_source)
    windows = split_windows(data.index, spec.in_sample, spec.out_of_sample, spec.anchored)
    metric_names = list(dict.fromkeys((opt.objective, *STABILITY_METRICS)))
    jobs = [(opt, rows(data, w.is_start, w.oos_stop), _local(w), searched, metric_names, objective_fn) for w in windows]
    if runner is not None or (workers is not None and workers > 1):
        _check_picklable(objective_fn)
        outcomes = _in_pool(jobs, runner, workers, progress, should_stop)
    else:
        outcomes = _in_turn(jobs, workers, progress, should_stop)
    return _combine(spec, outcomes, began)


def _local(w: Window) -> Window:
    """The window in the coordinates of its own bars [is_start, oos_stop)."""
    return Window(number=w.number, is_start=0, is_stop=w.is_bars, oos_start=w.is_bars, oos_stop=w.is_bars + w.oos_bars)


def _in_turn(
    jobs: list[tuple], workers: int | None, progress: Progress | None, should_stop: Callable[[], bool] | None
) -> list[WindowOutcome]:
    """Every window one after another in this process."""
    outcomes = []
    for job in jobs:
        if should_stop and should_stop():
            raise ConfigError("cancelled")
        outcomes.append(evaluate_window(*job, workers=workers, should_stop=should_stop))
        if progress:
            progress(len(outcomes), len(jobs))
    return outcomes


def _in_pool(
    jobs: list[tuple],
    runner: CallRunner | None,
    workers: int | None,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> list[WindowOutcome]:
    """Every window on `runner`, or on a new ProcessPool(workers) closed afterwards."""
    own = runner is None
    pool = ProcessPool(workers or 1) if runner is None else runner
    try:
        pending = {pool.submit_call(window_task, *job): job[2].number for job in jobs}
        outcomes: dict[int, WindowOutcome] = {}
        while pending:
            for future in pool.wait_any(list(pending)):
                outcomes[pending.pop(future)] = future.result()
                if progress:
                    progress(len(outcomes), len(jobs))
            if pending and should_stop and should_stop():
                for future in pending:
                    future.cancel()
                raise ConfigError("cancelled")
    finally:
        if own:
            pool.close()
    return [outcomes[n] for n in sorted(outcomes)]


def _check_picklable(objective_fn: ObjectiveFn | None) -> None:
    """A custom objective must travel to the worker processes (a lambda or a closure cannot)."""
    if objective_fn is None:
        return
    try:
        pickle.dumps(objective_fn)
    except Exception as e:
        raise ConfigError(
            f"walk-forward: objective_fn {objective_fn!r} cannot be sent to worker processes "
            f"({type(e).__name__}); define it at module level or use workers=1"
        ) from None


def window_task(
    opt: OptimizeSpec,
    part: MarketData,
    w: Window,
    searched: list[str],
    metric_names: list[str],
    objective_fn: ObjectiveFn | None,
) -> WindowOutcome:
    """One window in a worker process (one grid thread: the pool already uses the cores)."""
    return evaluate_window(opt, part, w, searched, metric_names, objective_fn, workers=1)


def evaluate_window(
    opt: OptimizeSpec,
    part: MarketData,
    w: Window,
    searched: list[str],
    metric_names: list[str],
    objective_fn: ObjectiveFn | None,
    *,
    workers: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> WindowOutcome:
    """Optimize on the IS bars of `part` (its bars [is_start, oos_stop), `w` in its coordinates), then run
    the chosen set on all of `part` and keep its OOS returns. No bar after the OOS end is in `part`."""
    strategy_cls = strategy_class(opt.strategy)
    result = run_optimization(
        opt, data=rows(part, w.is_start, w.is_stop), objective_fn=objective_fn, should_stop=should_stop, workers=workers
    )
    chosen = dict(result.best_params)
    oos_returns = _oos_returns(part, w, strategy_cls, chosen, opt, workers, should_stop)
    cash = float(opt.config.initial_cash)
    oos_eq = cash * np.cumprod(1.0 + oos_returns.to_numpy())
    oos_table = metrics_table(
        oos_eq, initial_cash=cash, periods_per_year=opt.config.periods_per_year, index=oos_returns.index
    )
    if objective_fn is not None and chosen:
        oos_objective = float(objective_fn(oos_table).iloc[0])
    else:
        oos_objective = float(oos_table[opt.objective].iloc[0]) if chosen else float("nan")
    top = result.table.iloc[0]
    index = part.index
    record = {
        "window": w.number,
        "is_start": index[w.is_start],
        "is_end": index[w.is_stop - 1],
        "oos_start": index[w.oos_start],
        "oos_end": index[w.oos_stop - 1],
        "is_bars": w.is_bars,
        "oos_bars": w.oos_bars,
        **{n: chosen.get(n, np.nan) for n in searched},
        "feasible": bool(chosen),
        "is_objective": float(top["objective"]) if chosen else float("nan"),
        "oos_objective": oos_objective,
        "is_cagr": float(top["cagr"]) if chosen else float("nan"),
        "oos_cagr": float(oos_table["cagr"].iloc[0]),
        "oos_return": float(oos_eq[-1] / cash - 1.0),
    }
    return WindowOutcome(
        record=record,
        surface=_surface(w.number, result.table, searched, metric_names),
        oos_returns=oos_returns,
        chosen=chosen,
    )


def _combine(spec: WalkForwardSpec, outcomes: list[WindowOutcome], began: float) -> WalkForwardResult:
    """Chain the windows' OOS returns into the stitched equity and compute the efficiencies."""
    opt = spec.optimize
    cash = float(opt.config.initial_cash)
    table = pd.DataFrame.from_records([o.record for o in outcomes])
    returns = pd.concat([o.oos_returns for o in outcomes])
    oos_equity = pd.Series(cash * np.cumprod(1.0 + returns.to_numpy()), index=returns.index, name="oos_equity")
    oos_metrics = backtest_metrics(oos_equity, initial_cash=cash, periods_per_year=opt.config.periods_per_year)
    return WalkForwardResult(
        spec=spec,
        windows=table,
        oos_equity=oos_equity,
        efficiency=_ratio(oos_metrics["cagr"], table["is_cagr"]),
        stability=pd.concat([o.surface for o in outcomes], ignore_index=True),
        oos_metrics=oos_metrics,
        objective_efficiency=_ratio(table["oos_objective"].mean(), table["is_objective"]),
        elapsed=time.perf_counter() - began,
        chosen=[o.chosen for o in outcomes],
        oos_returns=returns,
    )


def _oos_returns(
    data: MarketData,
    w: Window,
    strategy_cls: type,
    chosen: dict[str, Any],
    opt: OptimizeSpec,
    workers: int | None,
    should_stop: Callable[[], bool] | None,
) -> pd.Series:
    """Per-bar OOS returns of the chosen set, simulated on bars [is_start, oos_stop) (warm-up, no later bar)."""
    index = data.index[w.oos_start : w.oos_stop]
    if not chosen:
        return pd.Series(0.0, index=index)
    grid = run_any_grid(
        strategy_cls,
        data=rows(data, w.is_start, w.oos_stop),
        param_sets=[chosen],
        config=opt.config,
        workers=workers,
        should_stop=should_stop,
    )
    equity = grid.equity[0].to_numpy()
    local = w.oos_start - w.is_start
    values = equity[local:] / equity[local - 1 : -1] - 1.0
    return pd.Series(values, index=index)


def _surface(window: int, table: pd.DataFrame, searched: list[str], metrics: list[str]) -> pd.DataFrame:
    """Long form of one window's IS table: window, searched params, metric, value."""
    wide = table[searched + metrics].reset_index(drop=True)
    long = wide.melt(id_vars=searched, value_vars=metrics, var_name="metric", value_name="value")
    long.insert(0, "window", window)
    return long


def _ratio(oos: float, is_values: pd.Series) -> float:
    denominator = float(is_values.mean()) if is_values.notna().any() else float("nan")
    if not np.isfinite(denominator) or denominator <= 0 or not np.isfinite(oos):
        return float("nan")
    return float(oos) / denominator


def oos_backtest(result: WalkForwardResult) -> BacktestResult:
    """The stitched OOS equity as a BacktestResult (so it is stored, listed and compared like a run).

    equity / returns: the stitched OOS equity and its chained per-bar returns; metrics: `oos_metrics`. Each
    window simulates its own account, so cash, weights and positions are NaN (not one account's values)
    and trades and fills are empty; the windows and chosen sets go into the run's payload (`save_walkforward`).
    """
    opt = result.spec.optimize
    equity = result.oos_equity
    cash = float(opt.config.initial_cash)
    returns = result.oos_returns if result.oos_returns is not None else equity / equity.shift(1, fill_value=cash) - 1.0
    symbols = list(opt.symbols)
    unknown = pd.DataFrame(np.nan, index=equity.index, columns=pd.Index(symbols, name="symbol"))
    return BacktestResult(
        config=opt.config,
        strategy=opt.strategy,
        params=dict(walkforward_request(result).params),
        symbols=symbols,
        equity=equity,
        returns=pd.Series(returns.to_numpy(), index=equity.index, name="returns"),
        cash=pd.Series(np.nan, index=equity.index, name="cash"),
        weights=unknown,
        positions=unknown.copy(),
        trades=pd.DataFrame(columns=list(TRADE_COLUMNS)),
        fills=pd.DataFrame(columns=list(FILL_COLUMNS)),
        metrics=dict(result.oos_metrics),
    )


def walkforward_request(result: WalkForwardResult) -> BacktestRequest:
    """The spec's backtest with the set chosen in the last feasible window (what one would trade next; the
    spec's fixed values when no window had a feasible set)."""
    latest: dict[str, Any] = next((c for c in reversed(result.chosen) if c), {})
    return result.spec.optimize.request(latest)


def walkforward_payload(result: WalkForwardResult) -> dict[str, Any]:
    """JSON-ready summary of a walk-forward run: spec, chosen set per window, efficiencies, OOS metrics."""
    return {
        "spec": result.spec.to_dict(),
        "chosen": [dict(c) for c in result.chosen],
        "efficiency": result.efficiency,
        "objective_efficiency": result.objective_efficiency,
        "oos_metrics": dict(result.oos_metrics),
        "elapsed": result.elapsed,
    }


def save_walkforward(result: WalkForwardResult, store: RunStore | None = None, name: str | None = None) -> str:
    """Save a walk-forward as a run of kind "walkforward": the stitched OOS equity (`oos_backtest`) with the
    windows table (frame "walkforward_windows", chosen parameters per window), the stability surface (frame
    "walkforward_stability") and `walkforward_payload`; returns the run id."""
    store = store if store is not None else RunStore()
    opt = result.spec.optimize
    name = name or (
        f"walk-forward {opt.strategy}: {len(result.windows)} windows, IS {result.spec.in_sample}, "
        f"OOS {result.spec.out_of_sample}{', anchored' if result.spec.anchored else ''}"
    )
    return store.save_analysis(
        oos_backtest(result),
        walkforward_request(result),
        kind="walkforward",
        frames={"walkforward_windows": result.windows, "walkforward_stability": result.stability},
        payload=walkforward_payload(result),
        name=name,
    )

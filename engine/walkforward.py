"""Walk-forward analysis: optimize in-sample, trade the chosen parameters out-of-sample, window after window.

For each window of `engine.splits.split_windows` (rolling or anchored):
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
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from engine.data.market import FIELDS, MarketData
from engine.errors import ConfigError
from engine.grid import Progress, run_grid
from engine.metrics import backtest_metrics, metrics_table
from engine.optimize import ObjectiveFn, OptimizeSpec, run_optimization, search_space
from engine.splits import Window, parse_length, split_windows

STABILITY_METRICS: tuple[str, ...] = ("sharpe", "cagr", "total_return", "max_drawdown", "calmar", "n_trades")
"""Metrics kept per window and parameter set in the stability surface (the objective is always included)."""


@dataclass(frozen=True)
class WalkForwardSpec:
    """A walk-forward run: the optimization to repeat and the window lengths.

    in_sample / out_of_sample: bars (250 or "250") or calendar spans ("3Y", "18M", "26W", "90D"); the step
    between windows is the OOS length. anchored: every in-sample window starts at the first bar.
    """

    optimize: OptimizeSpec
    in_sample: str | int
    out_of_sample: str | int
    anchored: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.optimize, OptimizeSpec):
            raise ConfigError(f"walk-forward: optimize must be an OptimizeSpec, got {type(self.optimize).__name__}")
        parse_length(self.in_sample, "in-sample")
        parse_length(self.out_of_sample, "out-of-sample")
        if not isinstance(self.anchored, bool):
            raise ConfigError(f"walk-forward: anchored must be true or false, got {self.anchored!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"optimize": self.optimize.to_dict(), "in_sample": self.in_sample,
                "out_of_sample": self.out_of_sample, "anchored": self.anchored}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "WalkForwardSpec":
        values = dict(values)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"walk-forward: unknown field(s) {unknown}; expected some of {sorted(known)}")
        missing = [k for k in ("optimize", "in_sample", "out_of_sample") if k not in values]
        if missing:
            raise ConfigError(f"walk-forward: missing field(s) {missing}")
        opt = values["optimize"]
        if not isinstance(opt, (OptimizeSpec, Mapping)):
            raise ConfigError(f"walk-forward: optimize must be a mapping, got {opt!r}")
        values["optimize"] = opt if isinstance(opt, OptimizeSpec) else OptimizeSpec.from_dict(opt)
        return cls(**values)


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


def rows(data: MarketData, start: int, stop: int) -> MarketData:
    """Bars [start, stop) of `data` by position."""
    return MarketData(**{f: getattr(data, f).iloc[start:stop] for f in FIELDS})


def run_walkforward(spec: WalkForwardSpec, *, data: MarketData | None = None, progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None, objective_fn: ObjectiveFn | None = None,
                    workers: int | None = None) -> WalkForwardResult:
    """Optimize on each in-sample window, evaluate out-of-sample, stitch the OOS equity (module docstring).

    Args:
        spec: the optimization and the window lengths.
        data: bars to use as given; None loads the optimize spec's symbols and dates once.
        progress: progress(windows done, windows) after each window. should_stop: checked by every
            run_grid call; True cancels with ConfigError("cancelled").
        objective_fn / workers: as in `run_optimization`.
    """
    from engine.strategies.registry import get_strategy

    began = time.perf_counter()
    opt = spec.optimize
    strategy_cls = get_strategy(opt.strategy)
    searched = list(search_space(strategy_cls, opt))
    if data is None:
        from engine.data import load_market_data

        data = load_market_data(list(opt.symbols), opt.start, opt.end, opt.data_source)
    windows = split_windows(data.index, spec.in_sample, spec.out_of_sample, spec.anchored)
    cash = float(opt.config.initial_cash)
    metric_names = list(dict.fromkeys((opt.objective, *STABILITY_METRICS)))
    records, surfaces, pieces, chosen_sets = [], [], [], []
    for w in windows:
        if should_stop and should_stop():
            raise ConfigError("cancelled")
        result = run_optimization(opt, data=rows(data, w.is_start, w.is_stop), objective_fn=objective_fn,
                                  should_stop=should_stop, workers=workers)
        surfaces.append(_surface(w.number, result.table, searched, metric_names))
        chosen = dict(result.best_params)
        chosen_sets.append(chosen)
        oos_returns = _oos_returns(data, w, strategy_cls, chosen, opt, workers, should_stop)
        pieces.append(oos_returns)
        oos_eq = cash * np.cumprod(1.0 + oos_returns.to_numpy())
        oos_table = metrics_table(oos_eq, initial_cash=cash, periods_per_year=opt.config.periods_per_year,
                                  index=oos_returns.index)
        if objective_fn is not None and chosen:
            oos_objective = float(objective_fn(oos_table).iloc[0])
        else:
            oos_objective = float(oos_table[opt.objective].iloc[0]) if chosen else float("nan")
        top = result.table.iloc[0]
        records.append({
            "window": w.number, "is_start": data.index[w.is_start], "is_end": data.index[w.is_stop - 1],
            "oos_start": data.index[w.oos_start], "oos_end": data.index[w.oos_stop - 1],
            "is_bars": w.is_bars, "oos_bars": w.oos_bars,
            **{n: chosen.get(n, np.nan) for n in searched},
            "feasible": bool(chosen),
            "is_objective": float(top["objective"]) if chosen else float("nan"),
            "oos_objective": oos_objective,
            "is_cagr": float(top["cagr"]) if chosen else float("nan"),
            "oos_cagr": float(oos_table["cagr"].iloc[0]),
            "oos_return": float(oos_eq[-1] / cash - 1.0),
        })
        if progress:
            progress(w.number + 1, len(windows))
    table = pd.DataFrame.from_records(records)
    returns = pd.concat(pieces)
    oos_equity = pd.Series(cash * np.cumprod(1.0 + returns.to_numpy()), index=returns.index, name="oos_equity")
    oos_metrics = backtest_metrics(oos_equity, initial_cash=cash, periods_per_year=opt.config.periods_per_year)
    return WalkForwardResult(
        spec=spec, windows=table, oos_equity=oos_equity,
        efficiency=_ratio(oos_metrics["cagr"], table["is_cagr"]),
        stability=pd.concat(surfaces, ignore_index=True), oos_metrics=oos_metrics,
        objective_efficiency=_ratio(table["oos_objective"].mean(), table["is_objective"]),
        elapsed=time.perf_counter() - began, chosen=chosen_sets,
    )


def _oos_returns(data: MarketData, w: Window, strategy_cls: type, chosen: dict[str, Any], opt: OptimizeSpec,
                 workers: int | None, should_stop: Callable[[], bool] | None) -> pd.Series:
    """Per-bar OOS returns of the chosen set, simulated on bars [is_start, oos_stop) (warm-up, no later bar)."""
    index = data.index[w.oos_start:w.oos_stop]
    if not chosen:
        return pd.Series(0.0, index=index)
    grid = run_grid(rows(data, w.is_start, w.oos_stop), strategy_cls, [chosen], opt.config, workers=workers,
                    should_stop=should_stop)
    equity = grid.equity[0].to_numpy()
    local = w.oos_start - w.is_start
    values = equity[local:] / equity[local - 1:-1] - 1.0
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

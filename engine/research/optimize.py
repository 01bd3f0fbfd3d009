"""Parameter optimization: grid, seeded random search and Optuna TPE over one strategy's parameters.

Long because: one search (the validated spec, its candidate sets, the grid / random / Optuna methods that
share one scoring and ranking, and the result); the methods differ only in how candidates are drawn.

Every evaluation goes through `engine.sim.grid.run_grid` (one call per batch: the whole grid, the random sample,
or one Optuna batch), so each trial's metrics equal what `run_backtest` gives for that parameter set alone,
and each distinct indicator is computed once per batch. The objective is a metric of `METRIC_NAMES`
(maximized or minimized) or a callable over the trial table; constraints (a minimum number of trades,
bounds on metrics) flag trials as infeasible and rank them last instead of dropping them.

Search space: per parameter a list of values — the explicit `ranges`, or each `ParamSpec.grid()` when
`ranges` is None (parameters in `fixed` are held at their value, the others at their default). Parameter
sets the strategy's `Params` reject (e.g. fast >= slow) are skipped by every method.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import AfterValidator, Field, SkipValidation, StrictBool, StrictInt, StrictStr, ValidationInfo
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.config import NONE_IS_DEFAULT, BacktestConfig
from engine.data import get_source, load_market_data
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.metrics import METRIC_NAMES
from engine.request import BacktestRequest, DateText, Symbols, untraded_benchmark
from engine.research.event_grid import run_any_grid
from engine.sim.grid import EQUITY_CELLS, Progress, expand_grid
from engine.strategies.base import ParamSpec, Strategy, make_params, param_specs
from engine.strategies.registry import strategy_class
from engine.validation import FORBID, parse, validated

Method = Literal["grid", "random", "optuna"]
METHODS: tuple[str, ...] = get_args(Method)
MAX_GRID = 250_000
"""Largest exhaustive grid run_optimization accepts; larger spaces need method 'random' or 'optuna'."""
OPTUNA_BATCH = 16
"""Trials Optuna proposes per run_grid call (fixed, so a seed gives the same trials on any machine)."""
TOP_CURVES = 10
"""Equity curves `run_optimization` keeps by default when every trial's would pass `EQUITY_CELLS`: the best ten."""
ObjectiveFn = Callable[[pd.DataFrame], pd.Series]


def _method(value: str) -> str:
    if value not in METHODS:
        raise ValueError(f"method {value!r} is not one of {METHODS}")
    return value


def _positive_count(value: int, info: ValidationInfo) -> int:
    if value < 1:
        raise ValueError(f"{info.field_name} must be >= 1, got {value}")
    return value


Trials = Annotated[StrictInt, AfterValidator(_positive_count), Field(le=1_000_000)]
"""A number of trials (random / Optuna search; also the batch files' optimize.n_trials)."""
MethodName = Annotated[StrictStr, AfterValidator(_method)]
"""A search method of METHODS (text checked by hand so the message reads "method 'x' is not one of ...")."""


@validated("optimize")
@pydantic_dataclass(frozen=True, config=FORBID)
class OptimizeSpec:
    """What to optimize: strategy, data, simulation config, search space, method, objective and constraints.

    ranges: parameter name -> values to try (None = each parameter's `ParamSpec.grid()` from its bounds).
    fixed: parameter values held constant (not searched). method: "grid" (every combination), "random"
        (n_trials sets drawn without replacement with numpy.random.default_rng(seed)) or "optuna" (TPE with
        seed, n_trials distinct sets). objective: a metric name of `engine.metrics.METRIC_NAMES`;
        maximize=False minimizes it. min_trades: trials with fewer closed-or-open trades are infeasible.
        constraints: metric -> (low, high) inclusive bounds (None = unbounded), e.g. {"max_drawdown":
        (-0.3, None)}; a NaN metric fails its bound. start/end/data_source: as in `BacktestRequest`.
    Types and bounds are checked by the field types; ranges, fixed and constraints (lists or numpy arrays of
    values, metric names) by `__post_init__`.
    """

    strategy: Annotated[StrictStr, Field(min_length=1)]
    symbols: Symbols
    start: DateText = None
    end: DateText = None
    config: Annotated[BacktestConfig, NONE_IS_DEFAULT] = BacktestConfig()
    ranges: SkipValidation[Mapping[str, Sequence[Any]] | None] = None
    fixed: Annotated[Mapping[str, Any], NONE_IS_DEFAULT] = field(default_factory=dict)
    method: MethodName = "grid"
    n_trials: Trials = 100
    seed: StrictInt = 0
    objective: StrictStr = "sharpe"
    maximize: StrictBool = True
    min_trades: Annotated[StrictInt, Field(ge=0)] = 0
    constraints: SkipValidation[Mapping[str, tuple[float | None, float | None]]] = field(default_factory=dict)
    data_source: StrictStr | None = None

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError("optimize: no symbols given; choose at least one symbol")
        if self.objective not in METRIC_NAMES:
            raise ConfigError(
                f"optimize: objective {self.objective!r} is not a metric; expected one of {list(METRIC_NAMES)}"
            )
        object.__setattr__(self, "fixed", dict(self.fixed or {}))
        if self.ranges is not None:
            if not isinstance(self.ranges, Mapping):
                raise ConfigError(f"optimize: ranges must map parameter names to value lists, got {self.ranges!r}")
            ranges: dict[str, tuple[Any, ...]] = {}
            for name, values in self.ranges.items():
                if isinstance(values, (str, bytes)) or not isinstance(values, (abc.Sequence, np.ndarray)):
                    raise ConfigError(f"optimize: range of {name!r} must be a list of values, got {values!r}")
                ranges[str(name)] = tuple(v.item() if hasattr(v, "item") else v for v in values)
                if not ranges[str(name)]:
                    raise ConfigError(f"optimize: the range of parameter {name!r} is empty")
            if not ranges:
                raise ConfigError(
                    "optimize: ranges is empty; give at least one parameter range (or None for "
                    "the grid from the Params bounds)"
                )
            both = sorted(set(ranges) & set(self.fixed))
            if both:
                raise ConfigError(f"optimize: parameter(s) {both} are both ranged and fixed; give each once")
            object.__setattr__(self, "ranges", ranges)
        constraints: dict[str, tuple[float | None, float | None]] = {}
        for metric, bounds in dict(self.constraints or {}).items():
            if metric not in METRIC_NAMES:
                raise ConfigError(
                    f"optimize: constraint on unknown metric {metric!r}; expected one of {list(METRIC_NAMES)}"
                )
            try:
                lo, hi = bounds
                lo = None if lo is None else float(lo)
                hi = None if hi is None else float(hi)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"optimize: constraint {metric!r} must be (low, high) with numbers or None, got {bounds!r}"
                ) from None
            if lo is not None and hi is not None and lo > hi:
                raise ConfigError(f"optimize: constraint {metric!r}: low {lo} is above high {hi}")
            constraints[str(metric)] = (lo, hi)
        object.__setattr__(self, "constraints", constraints)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (config as its dict, tuples as lists)."""
        return {
            "strategy": self.strategy,
            "symbols": list(self.symbols),
            "start": self.start,
            "end": self.end,
            "config": self.config.to_dict(),
            "ranges": None if self.ranges is None else {k: list(v) for k, v in self.ranges.items()},
            "fixed": dict(self.fixed),
            "method": self.method,
            "n_trials": self.n_trials,
            "seed": self.seed,
            "objective": self.objective,
            "maximize": self.maximize,
            "min_trades": self.min_trades,
            "constraints": {k: list(v) for k, v in self.constraints.items()},
            "data_source": self.data_source,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> OptimizeSpec:
        """Inverse of `to_dict` (also for YAML/JSON job files); errors name the field and the value."""
        return parse(cls, values)

    def request(self, params: Mapping[str, Any] | None = None) -> BacktestRequest:
        """The single backtest of one parameter set (e.g. the best) on this spec's data and config."""
        return BacktestRequest(
            strategy=self.strategy,
            params={**self.fixed, **dict(params or {})},
            symbols=self.symbols,
            start=self.start,
            end=self.end,
            config=self.config,
            data_source=self.data_source,
        )


@dataclass
class OptimizationResult:
    """The outcome of `run_optimization`.

    table: one row per evaluated trial, best first; index = trial id (evaluation order, 0..N-1); columns = every
        Params field, every metric, "objective" (the value ranked by) and "feasible" (passes min_trades and
        the constraints, with a finite objective).
    equity: (bars x kept trials) equity curves marked at each close; column = trial id (the table's index).
        Every trial's when `run_optimization` was asked for all (curves=None, the default, within
        `EQUITY_CELLS` bars x trials), else those of the best `curves` trials in rank order (re-simulated after
        the ranking, equal to the grid's own), so a 100,000-trial grid keeps its metrics, not its curves.
    best_params / best_metrics: the top row's full parameter set and metrics; empty when no trial is feasible.
    elapsed: wall-clock seconds of the search.
    """

    spec: OptimizeSpec
    table: pd.DataFrame
    equity: pd.DataFrame
    best_params: dict[str, Any]
    best_metrics: dict[str, float]
    elapsed: float

    @property
    def n_feasible(self) -> int:
        return int(self.table["feasible"].sum())

    def best_request(self) -> BacktestRequest:
        """The backtest of the best parameter set (ConfigError when no trial is feasible)."""
        if not self.best_params:
            raise ConfigError("optimization: no feasible parameter set (relax min_trades or the constraints)")
        return self.spec.request(self.best_params)


def search_space(strategy_cls: type[Strategy], spec: OptimizeSpec) -> dict[str, list[Any]]:
    """Parameter name -> values to search (typed by the Params), in declaration order for the default grid.

    Raises ConfigError for an unknown name in ranges or fixed, or a value of the wrong type.
    """
    specs = {s.name: s for s in param_specs(strategy_cls.Params)}
    unknown = sorted((set(spec.ranges or {}) | set(spec.fixed)) - set(specs))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown} for strategy {spec.strategy!r}; expected some of {sorted(specs)}"
        )
    if spec.ranges is None:
        space = {n: s.grid() for n, s in specs.items() if n not in spec.fixed}
    else:
        space = {n: list(v) for n, v in spec.ranges.items()}
    out: dict[str, list[Any]] = {}
    for name, values in space.items():
        typed = [_typed(specs[name], v) for v in values]
        out[name] = list(dict.fromkeys(typed))  # drop duplicates, keep order
    return out


def _typed(spec: ParamSpec, value: Any) -> Any:
    """`value` converted to the parameter's type ("10" -> 10, "true" -> True); ConfigError names the value."""
    if hasattr(value, "item"):
        value = value.item()
    try:
        if spec.type is bool:
            if isinstance(value, str):
                text = value.strip().lower()
                if text in ("1", "true", "yes", "on"):
                    return True
                if text in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if spec.type is int:
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(value)
            return int(number)
        if spec.type is float:
            return float(value)
        return spec.type(value)
    except (TypeError, ValueError):
        raise ConfigError(f"parameter {spec.name!r}: {value!r} is not a valid {spec.type.__name__}") from None


def _valid(strategy_cls: type[Strategy], params: Mapping[str, Any]) -> bool:
    try:
        make_params(strategy_cls.Params, params)
        return True
    except ConfigError:
        return False


def _grid_candidates(
    strategy_cls: type[Strategy], space: dict[str, list[Any]], fixed: Mapping[str, Any]
) -> list[dict[str, Any]]:
    total = math.prod(len(v) for v in space.values())
    if total > MAX_GRID:
        raise ConfigError(
            f"the grid has {total:,} parameter sets (more than {MAX_GRID:,}); narrow the ranges or "
            "use method 'random' or 'optuna' with n_trials"
        )
    return expand_grid(space, fixed, strategy_cls=strategy_cls)


def _decode(index: int, names: list[str], space: dict[str, list[Any]]) -> dict[str, Any]:
    """Mixed-radix decoding of a flat index into one value per parameter (last parameter fastest)."""
    out: dict[str, Any] = {}
    for name in reversed(names):
        index, r = divmod(index, len(space[name]))
        out[name] = space[name][r]
    return {n: out[n] for n in names}


def _random_candidates(
    strategy_cls: type[Strategy], space: dict[str, list[Any]], fixed: Mapping[str, Any], n: int, seed: int
) -> list[dict[str, Any]]:
    """n distinct valid sets drawn without replacement (fewer if the space has fewer); seeded, so reproducible."""
    names = list(space)
    total = math.prod(len(v) for v in space.values())
    if total >= 2**62:
        raise ConfigError(f"the search space has {total:.3g} combinations; narrow the ranges")
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    if total <= 4 * n + 1_000_000:
        draws: Any = (int(i) for i in rng.permutation(total))
    else:

        def sparse() -> Any:
            seen: set[int] = set()
            for _ in range(200 * n):
                i = int(rng.integers(total))
                if i not in seen:
                    seen.add(i)
                    yield i

        draws = sparse()
    for i in draws:
        params = {**fixed, **_decode(i, names, space)}
        if _valid(strategy_cls, params):
            out.append(params)
            if len(out) == n:
                break
    if not out:
        expand_grid({}, fixed, strategy_cls)  # raises with the reason when even the fixed values are invalid
        raise ConfigError("no valid parameter set in the search space (the strategy rejects every combination)")
    return out


def score(
    table: pd.DataFrame, spec: OptimizeSpec, objective_fn: ObjectiveFn | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(objective, feasible, violation) for each row of a params + metrics table.

    violation >= 0 measures how far a row is from meeting min_trades and the constraints (0 = meets them);
    it guides Optuna away from infeasible regions. feasible also requires a finite objective.
    """
    if objective_fn is not None:
        obj = objective_fn(table.copy())
        if not isinstance(obj, pd.Series) or len(obj) != len(table):
            raise ConfigError(
                f"objective_fn must return a Series with one value per trial ({len(table)}), got "
                f"{type(obj).__name__} of length {len(obj) if hasattr(obj, '__len__') else '?'}"
            )
        obj = pd.Series(pd.to_numeric(obj, errors="coerce").to_numpy(dtype="float64"), index=table.index)
    else:
        obj = table[spec.objective].astype("float64")
    violation = pd.Series(0.0, index=table.index)
    if spec.min_trades:
        trades = table["n_trades"].astype("float64").fillna(0.0)
        violation += (spec.min_trades - trades).clip(lower=0.0)
    for metric, (lo, hi) in spec.constraints.items():
        values = table[metric].astype("float64")
        if lo is not None:
            violation += (lo - values).clip(lower=0.0).fillna(1.0)
        if hi is not None:
            violation += (values - hi).clip(lower=0.0).fillna(1.0)
    feasible = (violation <= 0) & np.isfinite(obj)
    return obj, feasible, violation


def rank(table: pd.DataFrame, maximize: bool) -> pd.DataFrame:
    """Rows sorted best first: feasible before infeasible, then by objective (NaN last), then by trial id."""
    obj = table["objective"].to_numpy(dtype="float64")
    key = np.where(np.isfinite(obj), -obj if maximize else obj, np.inf)
    order = np.lexsort((table.index.to_numpy(), key, ~table["feasible"].to_numpy(dtype=bool)))
    return table.iloc[order]


def run_optimization(
    spec: OptimizeSpec,
    *,
    data: MarketData | None = None,
    objective_fn: ObjectiveFn | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    workers: int | None = None,
    curves: int | None = None,
) -> OptimizationResult:
    """Search the parameter space of `spec.strategy` and rank every evaluated set by the objective.

    Args:
        spec: what to search (see `OptimizeSpec`).
        data: bars to optimize on, used as given (symbols/start/end of the spec are then ignored); None loads
            spec.symbols between spec.start and spec.end from spec.data_source, once.
        objective_fn: optional table -> Series (one value per row, higher is better when spec.maximize) that
            replaces spec.objective; with Optuna it is applied batch by batch, so it must be row-wise.
        progress / should_stop: passed to `run_grid` (progress(done, total) in trials; should_stop() -> True
            cancels with ConfigError("cancelled")).
        workers: threads for `run_grid` (None = `engine.sim.grid.default_workers()`).
        curves: the equity curves to keep: None keeps every trial's when bars x trials <= `EQUITY_CELLS`
            (32 MB), else the best TOP_CURVES; K keeps those of the best K trials (0: none, metrics only).

    Returns:
        OptimizationResult with the ranked table, the kept equity curves and the best set.
    """
    began = time.perf_counter()
    strategy_cls = strategy_class(spec.strategy)
    space = search_space(strategy_cls, spec)
    specs = {s.name: s for s in param_specs(strategy_cls.Params)}
    fixed = {k: _typed(specs[k], v) for k, v in spec.fixed.items()}
    if data is None:
        data = load_market_data(list(spec.symbols), spec.start, spec.end, spec.data_source)
    bench = untraded_benchmark(spec.config.benchmark, data.symbols, get_source(spec.data_source))  # as a backtest's
    run: dict[str, Any] = dict(
        data=data,
        strategy_cls=strategy_cls,
        config=spec.config,
        workers=workers,
        should_stop=should_stop,
        benchmark_close=bench,
    )
    if curves is not None and curves < 0:
        raise ConfigError(f"curves must be >= 0 (equity curves to keep), got {curves}")
    candidates: list[dict[str, Any]] = []
    if spec.method != "optuna":
        if spec.method == "grid":
            candidates = _grid_candidates(strategy_cls, space, fixed)
        else:
            candidates = _random_candidates(strategy_cls, space, fixed, spec.n_trials, spec.seed)
    # every curve while they fit EQUITY_CELLS (an Optuna search is bounded by n_trials), else the best after ranking
    keep_all = curves is None and len(data) * (len(candidates) or spec.n_trials) <= EQUITY_CELLS
    run["keep_equity"] = keep_all
    if spec.method == "optuna":
        table, equity, candidates = _run_optuna(strategy_cls, space, fixed, spec, objective_fn, run, progress)
    else:
        grid = run_any_grid(param_sets=candidates, progress=progress, **run)
        table, equity = grid.table(), grid.equity
    table.index = pd.RangeIndex(len(table), name="trial")
    table["objective"], table["feasible"], _ = score(table, spec, objective_fn)
    table = rank(table, spec.maximize)
    if keep_all:
        equity.columns = pd.RangeIndex(equity.shape[1], name="trial")
    else:
        equity = _best_curves(table, candidates, TOP_CURVES if curves is None else curves, run)
    best_params: dict[str, Any] = {}
    best_metrics: dict[str, float] = {}
    if len(table) and bool(table["feasible"].iloc[0]):
        top = table.iloc[0]
        names = [s.name for s in param_specs(strategy_cls.Params)]
        best_params = dataclasses.asdict(make_params(strategy_cls.Params, {n: _py(top[n]) for n in names}))
        best_metrics = {m: float(top[m]) for m in METRIC_NAMES if m in table.columns}
    return OptimizationResult(
        spec=spec,
        table=table,
        equity=equity,
        best_params=best_params,
        best_metrics=best_metrics,
        elapsed=time.perf_counter() - began,
    )


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _best_curves(table: pd.DataFrame, candidates: list[dict[str, Any]], k: int, run: dict[str, Any]) -> pd.DataFrame:
    """The equity curves of the best `k` trials of a ranked table (columns: trial ids in rank order), simulated
    again by `run_grid` on their parameter sets: each equals `run_backtest` of its set, as in the search."""
    ids = [int(i) for i in table.index[: max(k, 0)]]
    if not ids:
        return pd.DataFrame(index=run["data"].index, columns=pd.RangeIndex(0, name="trial"), dtype="float64")
    grid = run_any_grid(param_sets=[candidates[i] for i in ids], **{**run, "keep_equity": True})
    equity = grid.equity
    equity.columns = pd.Index(ids, name="trial")
    return equity


def _run_optuna(
    strategy_cls: type[Strategy],
    space: dict[str, list[Any]],
    fixed: dict[str, Any],
    spec: OptimizeSpec,
    objective_fn: ObjectiveFn | None,
    run: dict[str, Any],
    progress: Progress | None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """TPE (seeded) over the value lists, asked in batches of OPTUNA_BATCH and evaluated by one run_grid each;
    (table, equity curves kept by run["keep_equity"], the parameter set of each table row).

    Numeric lists are searched as an ordinal index into the sorted values (suggest_int), others as
    categories. Rejected sets are told FAIL, repeats get the earlier value; n_trials counts distinct sets.
    """
    # optuna stays lazy: +0.13 s on importing this module, which every CLI command does; only this method uses it
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    total = math.prod(len(v) for v in space.values())
    if total <= spec.n_trials:  # the whole space fits in the budget: evaluate it exactly
        candidates = _grid_candidates(strategy_cls, space, fixed)
        grid = run_any_grid(param_sets=candidates, progress=progress, **run)
        return grid.table(), grid.equity, candidates
    ordinal = {
        n: sorted(v)
        for n, v in space.items()
        if len(v) > 1 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    }
    sampler = optuna.samplers.TPESampler(seed=spec.seed, constant_liar=True)
    study = optuna.create_study(direction="maximize" if spec.maximize else "minimize", sampler=sampler)

    def suggest(trial: Any) -> dict[str, Any]:
        out = dict(fixed)
        for name, values in space.items():
            if len(values) == 1:
                out[name] = values[0]
            elif name in ordinal:
                out[name] = ordinal[name][trial.suggest_int(name, 0, len(values) - 1)]
            else:
                out[name] = values[trial.suggest_categorical(name, list(range(len(values))))]
        return out

    tables: list[pd.DataFrame] = []
    curves: list[pd.DataFrame] = []
    evaluated: list[dict[str, Any]] = []
    seen: dict[tuple, tuple[float, float]] = {}  # params key -> (objective, violation)
    n_done, asks, max_asks = 0, 0, 20 * spec.n_trials + 100
    logger = logging.getLogger("optuna")
    while n_done < spec.n_trials and asks < max_asks:
        batch: list[dict[str, Any]] = []
        pending: list[tuple[Any, tuple]] = []  # (optuna trial, params key)
        repeats: list[tuple[Any, tuple]] = []
        while len(batch) < min(OPTUNA_BATCH, spec.n_trials - n_done) and asks < max_asks:
            trial = study.ask()
            asks += 1
            params = suggest(trial)
            key = tuple(sorted((k, repr(v)) for k, v in params.items()))
            if not _valid(strategy_cls, params):
                study.tell(trial, state=TrialState.FAIL)
            elif key in seen:  # evaluated in an earlier batch: tell its value at once
                _tell(study, trial, *seen[key])
            elif any(k == key for _, k in pending):
                repeats.append((trial, key))
            else:
                batch.append(params)
                pending.append((trial, key))
        if batch:
            report = (lambda d, n, base=n_done: progress(base + d, spec.n_trials)) if progress else None
            grid = run_any_grid(param_sets=batch, progress=report, **run)
            table = grid.table()
            obj, _feasible, violation = score(table, spec, objective_fn)
            for (_trial, key), value, v in zip(pending, obj.to_numpy(), violation.to_numpy()):
                seen[key] = (float(value), float(v))
            tables.append(table)
            curves.append(grid.equity)
            evaluated.extend(batch)
            n_done += len(batch)
        for trial, key in pending + repeats:
            _tell(study, trial, *seen[key])
    logger.debug("optuna: %d asks for %d distinct sets", asks, n_done)
    if not tables:
        raise ConfigError("optuna found no valid parameter set (the strategy rejects every suggested combination)")
    return pd.concat(tables, ignore_index=True), pd.concat(curves, axis=1, ignore_index=True), evaluated


def _tell(study: Any, trial: Any, value: float, violation: float) -> None:
    """Report one trial to Optuna: its objective (FAIL when not finite) and its constraint violation."""
    from optuna.trial import TrialState  # lazy: see _run_optuna

    trial.set_constraint("violation", violation)  # > 0 = infeasible; TPE then favours feasible regions
    if math.isfinite(value):
        study.tell(trial, value)
    else:
        study.tell(trial, state=TrialState.FAIL)

"""How big a research run is before it runs: sets in the space, sets left after the strategy's own rules prune
some (with each rule and its count), and an ETA from measured throughput.

One function per kind of run (`estimate_optimize`, `estimate_walkforward`, `estimate_montecarlo`); the batch
estimate (`engine.batch.estimate`) adds them up per job. The Optimize page shows the estimate before running
and asks for confirmation above `engine.config.CONFIRM_SETS` / `CONFIRM_SECONDS`; `ivybt optimize |
walkforward | montecarlo | batch run --dry-run` print the same estimate and run nothing.

Counts: the grid is the Cartesian product of the value lists (`search_space`); a set the strategy's `Params`
reject (e.g. fast >= slow) is pruned, exactly as `run_optimization` does (`engine.sim.grid.expand_grid`), so
the count to run is the number of rows the optimizer returns. Rejections are grouped by their message with the
values taken out ("fast must be shorter than slow: 4,186 sets").

ETA, measured not assumed: a calibration run of a few parameter sets (spread over the space; at least
CALIBRATION_SETS, and enough bars x sets that the simulator runs its compiled tier as a real grid does) on the
run's actual data and config, through the same `run_grid` the optimizer uses, timed twice (the first pass
pays one-off loads such as numba's cache); the faster pass gives the seconds per set. The measurement is kept
for this process, keyed by strategy, data, config and worker count, so a page rerun does not measure again.
A calibration batch shares less indicator work than a full grid, so the ETA tends to be on the high side.
Walk-forward scales the per-set time by each window's in-sample bars; Monte Carlo times CALIBRATION_PATHS
paths on the backtest.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.config import CONFIRM_SECONDS, CONFIRM_SETS
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.jit import INTERPRET_MAX_CELLS
from engine.research.montecarlo import MonteCarloSpec, run_montecarlo
from engine.research.optimize import MAX_GRID, OptimizeSpec, _typed, search_space
from engine.research.splits import split_windows
from engine.research.walkforward import WalkForwardSpec, rows
from engine.sim.grid import run_grid
from engine.sim.result import BacktestResult
from engine.strategies.base import Strategy, make_params, param_specs
from engine.strategies.registry import get_strategy

CALIBRATION_SETS = 8
"""Fewest parameter sets timed to measure a strategy's throughput on the run's data (`calibration_size`)."""
CALIBRATION_PATHS = 200
"""Monte Carlo paths timed to measure the resampling throughput."""
Clock = Callable[[], float]


@dataclass(frozen=True)
class Estimate:
    """The size and expected duration of one run (or a batch of them).

    what: the kind of run, for people ("grid search", "walk-forward (12 windows)", ...). unit: what is counted
    ("parameter sets", "paths", "jobs"). total: before pruning. to_run: what will actually be evaluated.
    pruned: rule -> sets it removes (sums to total - to_run for a grid). seconds: the ETA (None = not
    measured). basis: how the ETA was measured. notes: anything else worth saying (e.g. a random search's cap).
    """

    what: str
    unit: str
    total: int
    to_run: int
    pruned: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    basis: str = ""
    notes: tuple[str, ...] = ()

    @property
    def pruned_count(self) -> int:
        return int(sum(self.pruned.values()))

    @property
    def needs_confirmation(self) -> bool:
        """True above the thresholds of engine.config (CONFIRM_SETS sets or CONFIRM_SECONDS seconds)."""
        return needs_confirmation(self.to_run, self.seconds)

    def lines(self) -> list[str]:
        """The estimate as sentences (the page's caption and the CLI's --dry-run text)."""
        out = [f"{self.what}: {self.to_run:,} {self.unit} to run of {self.total:,}"]
        if self.pruned:
            rules = "; ".join(f"{rule}: {n:,} sets" for rule, n in self.pruned.items())
            out.append(f"pruned {self.pruned_count:,} sets the strategy rejects ({rules})")
        if self.seconds is not None:
            out.append(f"estimated time {format_duration(self.seconds)} ({self.basis})")
        out.extend(self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "unit": self.unit,
            "total": self.total,
            "to_run": self.to_run,
            "pruned": self.pruned_count,
            "pruned_by_rule": dict(self.pruned),
            "eta_seconds": self.seconds,
            "eta_basis": self.basis,
            "needs_confirmation": self.needs_confirmation,
            "notes": list(self.notes),
        }


def needs_confirmation(sets: int, seconds: float | None) -> bool:
    """Whether a run of `sets` sets taking `seconds` is big enough to ask first (engine.config's thresholds)."""
    return sets > CONFIRM_SETS or (seconds is not None and seconds > CONFIRM_SECONDS)


def format_duration(seconds: float) -> str:
    """0.4 -> "under 1 s", 12.3 -> "12 s", 754 -> "12 min 34 s", 7260 -> "2 h 1 min" (what a progress bar or an estimate shows)."""
    s = max(0, int(round(seconds)))
    if seconds < 1:
        return "under 1 s"
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def remaining_seconds(done: int, total: int, elapsed: float) -> float | None:
    """ETA while running: the time the remaining items take at the throughput measured so far (None before
    the first item is done)."""
    if done <= 0 or total <= done:
        return None if done <= 0 else 0.0
    return elapsed / done * (total - done)


def rule_of(message: str) -> str:
    """A rejection message without its values: "fast (20) must be shorter than slow (10)" -> "fast must be
    shorter than slow"; "weight must be in (0, 10], got 11" -> "weight must be in (0, 10]"; "parameter 'weight':
    12.0 is out of range; must be ..." -> "weight is out of range; must be ..."."""
    text = re.sub(r"^invalid parameters \{.*?\}: ", "", str(message))
    text = re.sub(r"^parameter '([^']+)': .+? (is .*)$", r"\1 \2", text)  # a hard limit
    text = re.sub(r"\s*\(\s*[-+]?[\d.eE+-]+\s*\)", "", text)
    text = re.sub(r",\s*got\s+.*$", "", text)
    return text.strip()


@dataclass(frozen=True)
class GridCount:
    """The grid of a search space: total combinations, the valid ones (in `expand_grid` order) and the
    rejected ones per rule."""

    total: int
    valid: list[dict[str, Any]]
    pruned: dict[str, int]


def count_grid(strategy_cls: type[Strategy], space: Mapping[str, Sequence[Any]], fixed: Mapping[str, Any]) -> GridCount:
    """Every combination of `space` (plus `fixed`) checked by the strategy's Params, as the optimizer does.

    ConfigError when the product is larger than MAX_GRID (the optimizer's own limit for an exhaustive grid).
    """
    total = math.prod(len(v) for v in space.values())
    if total > MAX_GRID:
        raise ConfigError(f"the grid has {total:,} parameter sets (more than {MAX_GRID:,}); narrow the ranges")
    combos: list[dict[str, Any]] = [dict(fixed)]
    for name, values in space.items():
        combos = [{**c, name: v} for c in combos for v in values]
    valid, rules = [], Counter[str]()
    for combo in combos:
        try:
            make_params(strategy_cls.Params, combo)
            valid.append(combo)
        except ConfigError as e:
            rules[rule_of(str(e))] += 1
    return GridCount(total, valid, dict(rules.most_common()))


@functools.lru_cache(maxsize=16)
def _count_cached(strategy_cls: type[Strategy], space: tuple, fixed: tuple) -> GridCount:
    """`count_grid` kept for the last few spaces (a page rerun asks again for the same one)."""
    return count_grid(strategy_cls, dict((k, list(v)) for k, v in space), dict(fixed))


def _space(spec: OptimizeSpec) -> tuple[type[Strategy], dict[str, list[Any]], dict[str, Any]]:
    strategy_cls = get_strategy(spec.strategy)
    space = search_space(strategy_cls, spec)
    specs = {s.name: s for s in param_specs(strategy_cls.Params)}
    fixed = {k: _typed(specs[k], v) for k, v in spec.fixed.items()}
    return strategy_cls, space, fixed


def optimize_counts(spec: OptimizeSpec) -> tuple[int, int, dict[str, int], list[dict[str, Any]], tuple[str, ...]]:
    """(total, to_run, pruned by rule, sample of valid sets, notes) of an optimization, without running it."""
    strategy_cls, space, fixed = _space(spec)
    total = math.prod(len(v) for v in space.values())
    if spec.method != "grid" and total > MAX_GRID:  # too large to enumerate: the search draws n_trials sets
        note = f"the space of {total:,} sets is too large to count the rejected ones; {spec.method} draws valid sets"
        return total, spec.n_trials, {}, [], (note,)
    grid = _count_cached(strategy_cls, tuple((k, tuple(v)) for k, v in space.items()), tuple(sorted(fixed.items())))
    if not grid.valid:
        raise ConfigError(f"no valid parameter set in the grid ({'; '.join(grid.pruned)})")
    if spec.method == "grid":
        return total, len(grid.valid), grid.pruned, grid.valid, ()
    to_run = min(spec.n_trials, len(grid.valid))
    note = f"{spec.method} search: {spec.n_trials:,} trials asked, {len(grid.valid):,} valid sets in the space"
    return total, to_run, grid.pruned, grid.valid, (note,)


_MEASURED: dict[str, tuple[float, int]] = {}
"""Calibration key -> (seconds per parameter set, sets timed): this process's measurements."""


def _key(spec: OptimizeSpec, data: MarketData, workers: int | None) -> str:
    return json.dumps(
        [spec.strategy, list(data.symbols), str(data.index[0]), str(data.index[-1]), len(data.index),
         spec.config.to_dict(), workers],
        default=str,
    )  # fmt: skip


def calibration_size(data: MarketData, available: int) -> int:
    """Sets to time: at least CALIBRATION_SETS, and enough bar-symbol-set cells that the simulator runs the
    compiled tier a real grid runs (`engine.jit`: small jobs are interpreted, which is far slower per set)."""
    cells = max(1, len(data.index) * len(data.symbols))
    return max(1, min(available, max(CALIBRATION_SETS, math.ceil((INTERPRET_MAX_CELLS + 1) / cells))))


def measure_sets(
    spec: OptimizeSpec,
    data: MarketData,
    sample: Sequence[Mapping[str, Any]],
    *,
    workers: int | None = None,
    clock: Clock = time.perf_counter,
) -> tuple[float, int]:
    """(seconds per parameter set, sets timed) of `spec` on `data`: a calibration run through `run_grid` of
    sets spread over `sample`, twice (the faster pass counts); kept per process (module docstring)."""
    key = _key(spec, data, workers)
    if key in _MEASURED:
        return _MEASURED[key]
    if not sample:
        raise ConfigError("calibration needs at least one valid parameter set")
    k = calibration_size(data, len(sample))
    step = max(1, len(sample) // k)
    sets = [dict(s) for s in list(sample)[::step][:k]]
    strategy_cls = get_strategy(spec.strategy)
    passes = []
    for _ in range(2):
        began = clock()
        run_grid(param_sets=sets, data=data, strategy_cls=strategy_cls, config=spec.config, workers=workers)
        passes.append((clock() - began) / len(sets))
    _MEASURED[key] = (max(min(passes), 0.0), len(sets))
    return _MEASURED[key]


def forget_measurements() -> None:
    """Drop this process's calibration results (tests; or after a data import)."""
    _MEASURED.clear()


def _data(spec: OptimizeSpec, data: MarketData | None) -> MarketData:
    return data if data is not None else load_market_data(list(spec.symbols), spec.start, spec.end, spec.data_source)


def estimate_optimize(
    spec: OptimizeSpec,
    *,
    data: MarketData | None = None,
    workers: int | None = None,
    clock: Clock = time.perf_counter,
    timed: bool = True,
) -> Estimate:
    """Sets in the space, sets to run after pruning (with the rules), and the ETA of `run_optimization(spec)`.

    timed=False skips the calibration (counts only, seconds None)."""
    total, to_run, pruned, sample, notes = optimize_counts(spec)
    seconds, basis = None, ""
    if timed:
        data = _data(spec, data)
        if not sample:
            strategy_cls, space, fixed = _space(spec)
            sample = [dict(fixed, **{n: v[0] for n, v in space.items()})]
        per_set, timed_sets = measure_sets(spec, data, sample, workers=workers, clock=clock)
        seconds = per_set * to_run
        basis = _basis(per_set, timed_sets, data)
    what = {"grid": "grid search", "random": "random search", "optuna": "Optuna search"}[spec.method]
    return Estimate(what, "parameter sets", total, to_run, pruned, seconds, basis, notes)


def _basis(per_set: float, timed_sets: int, data: MarketData) -> str:
    rate = f"{1 / per_set:,.0f} sets/s" if per_set > 0 else "too fast to time"
    return f"calibration run of {timed_sets} sets on {', '.join(data.symbols)}, {len(data.index):,} bars: {rate}"


def estimate_walkforward(
    spec: WalkForwardSpec,
    *,
    data: MarketData | None = None,
    workers: int | None = None,
    clock: Clock = time.perf_counter,
    timed: bool = True,
) -> Estimate:
    """Windows x sets of a `WalkForwardSpec`: every window optimizes the same space on its in-sample bars (so
    the same sets are pruned in each), then runs the chosen set once. The ETA is measured on the longest
    in-sample window's own bars (rolling windows are all that long; anchored ones at most), per set."""
    opt = spec.optimize
    data = _data(opt, data)
    windows = split_windows(data.index, spec.in_sample, spec.out_of_sample, spec.anchored)
    total, per_window, pruned, sample, notes = optimize_counts(opt)
    n = len(windows)
    seconds, basis = None, ""
    if timed:
        if not sample:
            strategy_cls, space, fixed = _space(opt)
            sample = [dict(fixed, **{k: v[0] for k, v in space.items()})]
        longest = max(windows, key=lambda w: w.is_bars)
        window_data = rows(data, longest.is_start, longest.is_stop)
        per_set, timed_sets = measure_sets(opt, window_data, sample, workers=workers, clock=clock)
        seconds = per_set * (per_window + 1) * n
        basis = _basis(per_set, timed_sets, window_data) + " (the longest in-sample window)"
    return Estimate(
        f"walk-forward ({n} windows x {per_window:,} sets)",
        "parameter sets",
        total * n,
        per_window * n,
        {rule: count * n for rule, count in pruned.items()},
        seconds,
        basis,
        notes,
    )


def estimate_montecarlo(
    backtest: BacktestResult, mc_spec: MonteCarloSpec, *, clock: Clock = time.perf_counter, timed: bool = True
) -> Estimate:
    """Paths of a Monte Carlo (`run_montecarlo(backtest, mc_spec)`): nothing is pruned; the ETA times
    CALIBRATION_PATHS paths on the same backtest."""
    sims = int(mc_spec.n_sims)
    seconds, basis = None, ""
    if timed:
        n = min(sims, CALIBRATION_PATHS)
        passes = []
        for _ in range(2):  # the first pass pays one-off loads (numba's cache); the faster one is the rate
            began = clock()
            run_montecarlo(backtest, dataclasses.replace(mc_spec, n_sims=n))
            passes.append((clock() - began) / n)
        per_path = max(min(passes), 0.0)
        seconds = per_path * sims
        basis = f"calibration run of {n} paths: {1 / per_path:,.0f} paths/s" if per_path > 0 else "calibration run"
    return Estimate(f"Monte Carlo ({mc_spec.method})", "paths", sims, sims, {}, seconds, basis)

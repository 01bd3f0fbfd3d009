"""The robustness scorecard: one strategy + parameter set, every robustness check in one table.

Long because: one table of checks, each line (value, verdict, threshold detail) a few lines of its own, plus
the default trial grid the deflated Sharpe and PBO lines need when no trials are given.

Each `ScoreLine` carries a value, a plain verdict ("pass" | "warn" | "fail") and a one-sentence detail that
states the thresholds used (`THRESHOLDS`). The checks: Sharpe and its deflated version (Bailey & Lopez de
Prado), the probability of backtest overfitting (CSCV) and the plateau score over a grid of neighbouring
parameter sets, walk-forward efficiency (when a `WalkForwardResult` is given), Monte Carlo (5th percentile
of final equity and of max drawdown, probability of a loss beyond the threshold), fill sensitivity
(same_close vs next_open), the break-even commission, the number of trades and the exposure.

The trials behind the deflated Sharpe and PBO are, in order of preference: `trial_returns` (a bars x trials
return matrix) and/or `grid_table` (one row per trial, with a "sharpe" column and the parameter columns),
or else a small default grid around the request's parameters (each of the first two numeric parameters at
-2..+2 grid steps, at most 25 sets) run with `engine.sim.grid.run_grid`. Thresholds are rules of thumb for daily
bars, not laws; the detail of each line says which one was applied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.data.frequency import annualized_config
from engine.errors import ConfigError
from engine.metrics import returns_from_equity
from engine.request import BacktestRequest, request_data
from engine.research.montecarlo import MonteCarloSpec, run_montecarlo
from engine.research.overfitting import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    plateau_score,
    probability_of_backtest_overfitting,
    return_moments,
)
from engine.research.sensitivity import breakeven_commission, fill_sensitivity
from engine.sim.grid import expand_grid, run_grid
from engine.sim.simulate import run_backtest
from engine.store.runs import RunStore
from engine.strategies.base import Strategy, param_specs
from engine.strategies.registry import create_strategy, get_strategy

VERDICTS: tuple[str, ...] = ("pass", "warn", "fail")
#: name -> (pass bound, warn bound); "higher" checks pass at >= the first, "lower" ones at <= the first.
THRESHOLDS: dict[str, tuple[float, float]] = {
    "sharpe": (1.0, 0.5),
    "deflated_sharpe": (0.95, 0.5),
    "pbo": (0.2, 0.5),
    "plateau": (0.8, 0.5),
    "walkforward_efficiency": (0.5, 0.25),
    "mc_p5_final": (1.0, 0.8),  # multiple of initial cash; the warn bound is replaced by 1 - loss_threshold
    "mc_p5_drawdown": (-0.25, -0.40),
    "prob_loss": (0.05, 0.20),
    "fill_gap": (0.25, 0.5),
    "breakeven_bps": (20.0, 10.0),
    "n_trades": (30.0, 10.0),
    "exposure": (0.10, 0.02),
}


@dataclass(frozen=True)
class ScoreLine:
    """One check: name, value (a number; NaN when undefined), verdict ("pass"|"warn"|"fail"), detail."""

    name: str
    value: float
    verdict: str
    detail: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ConfigError(f"score line {self.name!r}: verdict {self.verdict!r} is not one of {VERDICTS}")


@dataclass
class Scorecard:
    """The lines in display order, the request they judge, and the numbers behind them (`info`)."""

    lines: list[ScoreLine]
    request: BacktestRequest | None = None
    info: dict[str, Any] = field(default_factory=dict)
    backtest: Any = None
    """The request's BacktestResult the lines judge (not part of `to_dict`)."""

    def counts(self) -> dict[str, int]:
        return {v: sum(1 for line in self.lines if line.verdict == v) for v in VERDICTS}

    @property
    def overall(self) -> str:
        """The worst verdict of all lines ("pass" when every check passed)."""
        return max((line.verdict for line in self.lines), key=VERDICTS.index, default="pass")

    def line(self, name: str) -> ScoreLine:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(name)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(line) for line in self.lines], columns=["name", "value", "verdict", "detail"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall,
            "counts": self.counts(),
            "lines": [asdict(line) for line in self.lines],
            "request": self.request.to_dict() if self.request is not None else None,
            "info": self.info,
        }


def _grade(value: float, bounds: tuple[float, float], higher: bool = True) -> str:
    if value is None or math.isnan(value):
        return "fail"
    good, ok = bounds
    if higher:
        return "pass" if value >= good else "warn" if value >= ok else "fail"
    return "pass" if value <= good else "warn" if value <= ok else "fail"


STEPS: tuple[str, ...] = (
    "backtest",
    "trial grid",
    "deflated Sharpe, PBO, plateau",
    "Monte Carlo",
    "fill sensitivity",
    "break-even commission",
)
"""The parts of `build_scorecard`, in order; progress(done, len(STEPS)) is called after each."""


class _Steps:
    """Progress over STEPS and the cancel check between them."""

    def __init__(self, progress: Callable[[int, int], None] | None, should_stop: Callable[[], bool] | None) -> None:
        self.progress, self.should_stop, self.done = progress, should_stop, 0

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise ConfigError("cancelled")

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(STEPS))
        if self.done < len(STEPS):  # a finished scorecard is kept
            self.check()


def build_scorecard(
    request: BacktestRequest,
    n_trials: int | None = None,
    grid_table: pd.DataFrame | None = None,
    *,
    trial_returns: np.ndarray | pd.DataFrame | None = None,
    param_names: Sequence[str] | None = None,
    walkforward: Any = None,
    montecarlo: MonteCarloSpec | None = None,
    data: Any = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Scorecard:
    """Run every robustness check for `request` (one strategy + parameter set) and grade it.

    Args:
        request: the backtest to judge.
        n_trials: how many trials were tried in total before choosing these parameters (for the deflated
            Sharpe); default: the number of trials in `trial_returns` / `grid_table` / the default grid.
        grid_table: one row per trial (e.g. `OptimizationResult.table` or `GridResult.table()`) with a
            "sharpe" column (annualized) and the parameter columns; gives the trials' Sharpe dispersion and
            the plateau score.
        trial_returns: (bars x trials) per-bar returns of the trials, for PBO (and the Sharpe dispersion when
            no grid_table is given).
        param_names: the searched parameters of `grid_table` (default: its columns that are Params fields
            and take more than one value).
        walkforward: an `engine.research.walkforward.WalkForwardResult`; adds the walk-forward efficiency line.
        montecarlo: the Monte Carlo spec (default: block bootstrap, 1000 sims, seed 0).
        data: already-loaded MarketData for the request (skips loading).
        progress: progress(steps done, len(STEPS)) after each part. should_stop: checked between the parts
            and inside the long ones (trial grid, Monte Carlo, break-even search); True cancels with
            ConfigError("cancelled").
    """
    steps = _Steps(progress, should_stop)
    steps.check()
    strategy_cls = get_strategy(request.strategy)
    strategy = create_strategy(request.strategy, request.params)
    if data is None:
        data = request_data(request)  # at the request's timeframe
    config = annualized_config(request.config, data.index)  # intraday: the data's bars per year, as run_request
    ppy = float(config.periods_per_year)
    result = run_backtest(data, strategy, config)
    params = dict(strategy.params.__dict__)
    lines: list[ScoreLine] = []
    info: dict[str, Any] = {"params": params}
    steps.step()

    if grid_table is None and trial_returns is None:
        grid_table, trial_returns, default_names = _default_grid(data, strategy_cls, params, config, should_stop)
        param_names = param_names or default_names
        info["default_grid"] = len(grid_table)
    steps.step()
    # 1-2. Sharpe and deflated Sharpe
    sharpe = float(result.metrics.get("sharpe", math.nan))
    lines.append(
        ScoreLine(
            "Sharpe ratio",
            sharpe,
            _grade(sharpe, THRESHOLDS["sharpe"]),
            f"Annualized Sharpe of per-bar returns (x sqrt({ppy:g})); pass >= 1.0, warn >= 0.5.",
        )
    )
    trial_sr = _trial_sharpes(grid_table, trial_returns, ppy)
    lines.append(_deflated_line(result.returns.to_numpy(np.float64), trial_sr, n_trials, ppy, info))
    # 3-4. PBO and plateau
    if trial_returns is not None:
        lines.append(_pbo_line(_distinct_columns(np.asarray(trial_returns, dtype=np.float64)), info))
    if grid_table is not None and "sharpe" in grid_table.columns:
        names = list(param_names) if param_names else _searched(grid_table, strategy_cls)
        if names:
            lines.append(_plateau_line(grid_table, names, params, info))
    # 5. walk-forward efficiency
    if walkforward is not None:
        eff = float(getattr(walkforward, "efficiency", math.nan))
        lines.append(
            ScoreLine(
                "Walk-forward efficiency",
                eff,
                _grade(eff, THRESHOLDS["walkforward_efficiency"]),
                "Stitched out-of-sample CAGR / mean in-sample CAGR of the chosen sets; "
                "pass >= 0.5, warn >= 0.25 (NaN: in-sample CAGR <= 0).",
            )
        )
    steps.step()
    # 6-8. Monte Carlo
    lines += _montecarlo_lines(result, montecarlo or MonteCarloSpec(), info, should_stop)
    steps.step()
    # 9-10. fills and costs
    lines.append(_fill_line(request, data))
    steps.step()
    lines.append(_breakeven_line(request, data, info, should_stop))
    # 11-12. activity
    trades = float(result.metrics.get("n_trades", 0.0))
    lines.append(
        ScoreLine(
            "Number of trades",
            trades,
            _grade(trades, THRESHOLDS["n_trades"]),
            "Round trips in the backtest (few trades = a result resting on luck); pass >= 30, warn >= 10.",
        )
    )
    exposure = float(result.metrics.get("exposure", math.nan))
    lines.append(
        ScoreLine(
            "Exposure",
            exposure,
            _grade(exposure, THRESHOLDS["exposure"]),
            "Share of bars holding a position; pass >= 10%, warn >= 2%.",
        )
    )
    info["metrics"] = dict(result.metrics)
    steps.step()
    return Scorecard(lines=lines, request=request, info=info, backtest=result)


def neighbourhood_ranges(strategy_cls: type[Strategy], params: Mapping[str, Any]) -> dict[str, list[Any]]:
    """-2..+2 grid steps around the first two numeric parameters of `params` (within the Params bounds),
    or the choices of choice parameters when there are fewer than two numeric ones."""
    specs = param_specs(strategy_cls.Params)
    numeric = [
        s for s in specs if s.type in (int, float) and s.low is not None and s.high is not None and not s.choices
    ]
    chosen = numeric[:2] + [s for s in specs if s.choices and len(s.choices) > 1][: max(0, 2 - len(numeric))]
    ranges: dict[str, list[Any]] = {}
    for spec in chosen:
        v = params[spec.name]
        if spec.choices:
            ranges[spec.name] = list(spec.choices)
            continue
        if spec.low is None or spec.high is None:  # `numeric` holds bounded parameters only
            raise ConfigError(f"{spec.name}: a numeric parameter needs bounds, got low={spec.low!r} high={spec.high!r}")
        step = spec.step or (1 if spec.type is int else (spec.high - spec.low) / 10)
        values = {v}
        for k in (-2, -1, 1, 2):
            x = v + k * step
            if spec.low - 1e-12 <= x <= spec.high + 1e-12:
                values.add(spec.type(round(x, 10)) if spec.type is float else int(round(x)))
        ranges[spec.name] = sorted(values)
    return ranges


def _default_grid(
    data: Any,
    strategy_cls: type[Strategy],
    params: Mapping[str, Any],
    config: Any,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The grid of `neighbourhood_ranges` around `params`, run with `run_grid`."""
    ranges = neighbourhood_ranges(strategy_cls, params)
    fixed = {k: v for k, v in params.items() if k not in ranges}
    sets = expand_grid(ranges, fixed, strategy_cls) if ranges else [dict(params)]
    grid = run_grid(data, strategy_cls, sets, config, should_stop=should_stop)
    returns = returns_from_equity(grid.equity.to_numpy(np.float64), config.initial_cash)
    return grid.table(), returns, list(ranges)


def _searched(table: pd.DataFrame, strategy_cls: type[Strategy]) -> list[str]:
    return [
        s.name
        for s in param_specs(strategy_cls.Params)
        if s.name in table.columns and table[s.name].nunique(dropna=True) > 1
    ]


def _trial_sharpes(grid_table: pd.DataFrame | None, trial_returns: Any, ppy: float) -> np.ndarray:
    """The trials' PER-BAR Sharpe ratios (annualized table values / sqrt(P), or from the return matrix)."""
    if grid_table is not None and "sharpe" in grid_table.columns:
        sr = pd.to_numeric(grid_table["sharpe"], errors="coerce").to_numpy(np.float64) / math.sqrt(ppy)
    elif trial_returns is not None:
        r = np.asarray(trial_returns, dtype=np.float64)
        std = r.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            sr = np.where(std > 0, r.mean(axis=0) / std, np.nan)
    else:
        sr = np.array([])
    return sr[np.isfinite(sr)]


def _deflated_line(
    returns: np.ndarray, trial_sr: np.ndarray, n_trials: int | None, ppy: float, info: dict[str, Any]
) -> ScoreLine:
    name = "Deflated Sharpe ratio"
    moments = return_moments(returns)
    n = int(n_trials) if n_trials is not None else max(1, len(trial_sr))
    if n < 1:
        raise ConfigError(f"n_trials: {n_trials!r} must be >= 1")
    variance = float(np.var(trial_sr, ddof=1)) if len(trial_sr) >= 2 else 0.0
    if not math.isfinite(moments["sharpe"]):
        return ScoreLine(name, math.nan, "fail", "Undefined: the strategy's returns have no dispersion.")
    sr0 = expected_max_sharpe(n, variance)
    dsr = deflated_sharpe_ratio(
        moments["sharpe"], int(moments["n_obs"]), n, variance, moments["skew"], moments["kurtosis"]
    )
    info["deflated_sharpe"] = {
        "n_trials": n,
        "trial_sharpe_variance_per_bar": variance,
        "sr0_per_bar": sr0,
        "sr0_annualized": sr0 * math.sqrt(ppy),
        **moments,
    }
    return ScoreLine(
        name,
        dsr,
        _grade(dsr, THRESHOLDS["deflated_sharpe"]),
        f"P(true Sharpe > {sr0 * math.sqrt(ppy):.2f}, the best of {n} trial(s) expected by luck), "
        f"with skew {moments['skew']:.2f} and kurtosis {moments['kurtosis']:.1f}; "
        "pass >= 0.95, warn >= 0.50.",
    )


def _distinct_columns(returns: np.ndarray) -> np.ndarray:
    """The matrix without repeated columns: parameter sets that trade identically are one trial, not several
    (ties would otherwise put the in-sample best exactly at the median)."""
    if returns.ndim != 2 or returns.shape[1] < 2:
        return returns
    _, first = np.unique(returns, axis=1, return_index=True)
    return returns[:, np.sort(first)]


def _pbo_line(trial_returns: np.ndarray, info: dict[str, Any]) -> ScoreLine:
    name = "Probability of backtest overfitting"
    t, n = trial_returns.shape if trial_returns.ndim == 2 else (len(trial_returns), 1)  # n: distinct trials
    splits = 16 if t >= 16 * 40 else 8 if t >= 8 * 20 else 4 if t >= 4 * 10 else 0
    if n < 2 or splits == 0:
        return ScoreLine(
            name,
            math.nan,
            "warn",
            f"Not computed: {n} distinct trial(s) over {t} bars (needs >= 2 "
            "trials that trade differently and >= 40 bars).",
        )
    pbo = probability_of_backtest_overfitting(trial_returns, n_splits=splits)
    info["pbo"] = {
        "n_splits": splits,
        "n_trials": n,
        "n_combinations": pbo.n_combinations,
        "prob_oos_loss": pbo.prob_oos_loss,
    }
    return ScoreLine(
        name,
        pbo.pbo,
        _grade(pbo.pbo, THRESHOLDS["pbo"], higher=False),
        f"CSCV over {n} trials, {splits} blocks ({pbo.n_combinations} splits): share where the "
        "in-sample best ranks at or below the out-of-sample median; pass <= 0.2, warn <= 0.5.",
    )


def _plateau_line(table: pd.DataFrame, names: list[str], params: Mapping[str, Any], info: dict[str, Any]) -> ScoreLine:
    name = "Plateau score"
    at = {k: params[k] for k in names if k in params}
    try:
        score = plateau_score(table, names, "sharpe", at=at if len(at) == len(names) else None)
    except ConfigError:  # these params are not a row of the table: judge the table's best instead
        score = plateau_score(table, names, "sharpe")
    info["plateau_params"] = names
    return ScoreLine(
        name,
        score,
        _grade(score, THRESHOLDS["plateau"]),
        f"Mean Sharpe of the neighbouring sets (one grid step in {', '.join(names)}) / this set's "
        "Sharpe; pass >= 0.8, warn >= 0.5 (NaN: Sharpe <= 0 or no neighbour).",
    )


def _montecarlo_lines(
    result: Any, spec: MonteCarloSpec, info: dict[str, Any], should_stop: Callable[[], bool] | None = None
) -> list[ScoreLine]:
    mc = run_montecarlo(result, spec, should_stop=should_stop)
    cash = float(result.config.initial_cash)
    p5_final = float(mc.percentiles.loc["p5", "final_equity"]) / cash
    p5_dd = float(mc.percentiles.loc["p5", "max_drawdown"])
    floor = 1.0 - spec.loss_threshold
    info["montecarlo"] = {"spec": spec.to_dict(), "percentiles": mc.percentiles.to_dict(), **mc.summary}
    what = f"{spec.method}, {spec.n_sims} sims, seed {spec.seed}"
    return [
        ScoreLine(
            "Monte Carlo 5th percentile final equity",
            p5_final,
            _grade(p5_final, (THRESHOLDS["mc_p5_final"][0], floor)),
            f"Final equity / initial cash in the worst 5% of paths ({what}); pass >= 1.0, warn >= {floor:.2f}.",
        ),
        ScoreLine(
            "Monte Carlo 5th percentile max drawdown",
            p5_dd,
            _grade(p5_dd, THRESHOLDS["mc_p5_drawdown"]),
            f"Max drawdown in the worst 5% of paths ({what}); pass >= -25%, warn >= -40%.",
        ),
        ScoreLine(
            f"Probability of a loss beyond {spec.loss_threshold:.0%}",
            mc.prob_loss_beyond,
            _grade(mc.prob_loss_beyond, THRESHOLDS["prob_loss"], higher=False),
            f"Share of paths ending below {floor:.2f} x initial cash ({what}); pass <= 5%, warn <= 20%.",
        ),
    ]


def _fill_line(request: BacktestRequest, data: Any) -> ScoreLine:
    name = "Fill sensitivity"
    table = fill_sensitivity(request, data=data)
    optimistic, real = float(table.loc["same_close", "cagr"]), float(table.loc["next_open", "cagr"])
    gap = (optimistic - real) / abs(optimistic) if optimistic != 0 and math.isfinite(optimistic) else math.nan
    verdict = (
        "fail"
        if not real > 0
        else "pass"
        if not math.isfinite(gap)
        else _grade(gap, THRESHOLDS["fill_gap"], higher=False)
    )
    return ScoreLine(
        name,
        gap,
        verdict,
        f"Share of the optimistic same_close CAGR ({optimistic:.2%}) lost when filling at the next "
        f"open ({real:.2%}); pass <= 25%, warn <= 50%, fail if the next-open CAGR is <= 0.",
    )


def _breakeven_line(
    request: BacktestRequest, data: Any, info: dict[str, Any], should_stop: Callable[[], bool] | None = None
) -> ScoreLine:
    bps = breakeven_commission(request, data=data, should_stop=should_stop)
    info["breakeven_commission_bps"] = bps
    return ScoreLine(
        "Break-even commission",
        bps,
        _grade(bps, THRESHOLDS["breakeven_bps"]),
        f"Commission (bps of traded notional per fill, slippage "
        f"{request.config.costs.slippage_bps:g} bps kept) at which the total return reaches 0; "
        "pass >= 20, warn >= 10 (inf: the edge survives 1000 bps).",
    )


def save_scorecard(card: Scorecard, store: Any = None, name: str | None = None) -> str:
    """Save a scorecard as a run of kind "scorecard": the judged backtest with the lines (frame "scorecard")
    and overall verdict, counts and the numbers behind the lines (payload); returns the run id."""
    if card.backtest is None or card.request is None:
        raise ConfigError("scorecard: only a scorecard from build_scorecard (with its backtest) can be saved")
    store = store if store is not None else RunStore()
    counts = card.counts()
    name = name or (
        f"scorecard {card.request.strategy}: {card.overall} ({counts['pass']} pass, "
        f"{counts['warn']} warn, {counts['fail']} fail)"
    )
    payload = {"overall": card.overall, "counts": counts, "info": card.info}
    return store.save_analysis(
        card.backtest, card.request, kind="scorecard", name=name, payload=payload, frames={"scorecard": card.to_frame()}
    )

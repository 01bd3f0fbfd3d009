"""Portfolio optimizers on a window of returns, through PyPortfolioOpt (the library the optimizers rely on:
small, well kept, pandas in and out, Ledoit-Wolf shrinkage via scikit-learn, cvxpy underneath).

Methods (`METHODS`): equal_weight (1/n), inverse_vol (1/sigma_i, normalized), min_variance
(EfficientFrontier.min_volatility), max_sharpe (EfficientFrontier.max_sharpe, risk-free rate 0, historical mean
returns; a window where no asset's mean return is positive has no tangency portfolio: min_variance is used and
said so), risk_parity (equal risk contributions: PyPortfolioOpt has no ERC, so Spinu's (2013) convex
formulation min 0.5 x'Sx - sum(log x_i) / n over x > 0, normalized, solved by PyPortfolioOpt's
convex_objective), hrp (hierarchical risk parity, PyPortfolioOpt's HRPOpt steps on the window's covariance).
Covariance: the sample covariance or Ledoit-Wolf shrinkage (risk_models.CovarianceShrinkage.ledoit_wolf).

Constraints (engine.portfolio.constraints) enter min_variance and max_sharpe directly; the weights of the
other methods are projected on them (the closest weights, least squares, that satisfy every constraint).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.portfolio.constraints import Constraints, Cut, add_constraints, cut_report

METHODS: tuple[str, ...] = ("equal_weight", "inverse_vol", "min_variance", "max_sharpe", "risk_parity", "hrp")
OPTIMIZED = ("min_variance", "max_sharpe")
"""Methods whose optimization takes the constraints itself; the others are projected on them."""
COVARIANCE_FREE = ("equal_weight", "hrp")
"""Methods that need no shrunk covariance of their own (HRP reads the window's sample covariance itself)."""
PERIODS_PER_YEAR = 252


@dataclass(frozen=True)
class Allocation:
    """The weights of one optimization (index = the window's symbols) and what constraints cut."""

    weights: pd.Series
    cuts: list[Cut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def covariance(returns: pd.DataFrame, shrinkage: bool, frequency: int = PERIODS_PER_YEAR) -> pd.DataFrame:
    """The annualized covariance of `returns`: Ledoit-Wolf shrunk (`shrinkage`) or the sample covariance."""
    from pypfopt import risk_models

    if shrinkage:
        return risk_models.CovarianceShrinkage(returns, returns_data=True, frequency=frequency).ledoit_wolf()
    return risk_models.sample_cov(returns, returns_data=True, frequency=frequency)


def _frontier(cov: pd.DataFrame, bounds: tuple[float, float], mu: pd.Series | None = None) -> Any:
    from pypfopt import EfficientFrontier

    return EfficientFrontier(mu, cov, weight_bounds=bounds)


def hrp_weights(returns: pd.DataFrame) -> pd.Series:
    """Hierarchical risk parity of the window (single linkage on sqrt((1 - corr) / 2)): PyPortfolioOpt's
    HRPOpt.optimize, step by step through its own helpers, because 1.6's `optimize` reads scipy's private
    `_LINKAGE_METHODS`, which scipy 1.18 no longer has. The covariance goes in labelled by position (the
    bisection's many `.loc` lookups are ~20x slower on pandas 3's string labels); same numbers."""
    import scipy.cluster.hierarchy as sch
    import scipy.spatial.distance as ssd
    from pypfopt import HRPOpt

    corr = returns.corr().to_numpy()
    cov = pd.DataFrame(returns.cov().to_numpy())
    matrix = np.sqrt(np.clip((1.0 - corr) / 2.0, a_min=0.0, a_max=1.0))
    clusters = sch.linkage(ssd.squareform(matrix, checks=False), "single")
    ordered = [int(i) for i in HRPOpt._get_quasi_diag(clusters)]
    weights = HRPOpt._raw_hrp_allocation(cov, ordered).sort_index().to_numpy()
    return pd.Series(weights, index=returns.columns)


def risk_parity_weights(cov: pd.DataFrame) -> pd.Series:
    """Equal risk contributions (w_i (S w)_i equal for all i, long-only, sum 1): Spinu's convex program."""
    import cvxpy as cp
    from pypfopt.base_optimizer import BaseConvexOptimizer

    n = len(cov)
    scaled = cov.to_numpy() / np.mean(np.diag(cov.to_numpy()))  # same solution, better conditioned
    opt = BaseConvexOptimizer(n, list(cov.index), weight_bounds=(1e-9, None))
    opt.convex_objective(
        lambda x: 0.5 * cp.quad_form(x, scaled, assume_PSD=True) - cp.sum(cp.log(x)) / n, weights_sum_to_one=False
    )
    x = pd.Series(opt.weights, index=cov.index)
    return x / x.sum()


def unconstrained(method: str, returns: pd.DataFrame, cov: pd.DataFrame, bounds: tuple[float, float]) -> pd.Series:
    """The weights of `method` on the window with only `bounds` (and sum 1)."""
    symbols = list(returns.columns)
    if method == "equal_weight":
        return pd.Series(1.0 / len(symbols), index=symbols)
    if method == "inverse_vol":
        inv = 1.0 / np.sqrt(np.diag(cov.to_numpy()))
        return pd.Series(inv / inv.sum(), index=symbols)
    if method == "risk_parity":
        return risk_parity_weights(cov)
    if method == "hrp":
        return hrp_weights(returns)
    return _optimized(method, returns, cov, bounds, Constraints(), None)[0]


def _optimized(
    method: str,
    returns: pd.DataFrame,
    cov: pd.DataFrame,
    bounds: tuple[float, float],
    c: Constraints,
    beta: pd.Series | None,
) -> tuple[pd.Series, list[str]]:
    from pypfopt import expected_returns
    from pypfopt.exceptions import OptimizationError

    notes: list[str] = []
    if method == "max_sharpe":
        mu = expected_returns.mean_historical_return(returns, returns_data=True, frequency=PERIODS_PER_YEAR)
        if float(mu.max()) > 0:
            ef = _frontier(cov, bounds, mu)
            add_constraints(ef, c, beta)
            try:
                return pd.Series(ef.max_sharpe(risk_free_rate=0.0)).reindex(returns.columns), notes
            except OptimizationError:  # within the constraints no portfolio has a positive mean return
                pass
        notes.append("max_sharpe: no portfolio has a positive mean return over the window; min_variance used")
    ef = _frontier(cov, bounds)
    add_constraints(ef, c, beta)
    return pd.Series(ef.min_volatility()).reindex(returns.columns), notes


def _projected(target: pd.Series, cov: pd.DataFrame, c: Constraints, beta: pd.Series | None) -> pd.Series:
    """The weights closest to `target` (least squares) that satisfy `c`."""
    import cvxpy as cp

    ef = _frontier(cov, c.bounds)
    add_constraints(ef, c, beta)
    goal = target.reindex(cov.index).to_numpy(dtype="float64")
    return pd.Series(ef.convex_objective(lambda w: cp.sum_squares(w - goal))).reindex(target.index)


def _capped(method: str, returns: pd.DataFrame, c: Constraints, shrinkage: bool) -> Allocation:
    """max_weight in each of too few symbols to reach 100 % under it (n x max_weight < 1): the rest in cash."""
    free = allocate(method, returns, shrinkage=shrinkage).weights
    final = pd.Series(c.max_weight, index=returns.columns)
    note = f"{len(final)} symbol(s) x max_weight {c.max_weight:g} < 1: {1 - final.sum():.0%} left in cash"
    return Allocation(final, cut_report(free, final, c, None), [note])


def allocate(
    method: str,
    returns: pd.DataFrame,
    constraints: Constraints | None = None,
    *,
    shrinkage: bool = True,
    beta: pd.Series | None = None,
) -> Allocation:
    """The weights of `method` over the window `returns` (rows = bars, columns = symbols, no NaN) under
    `constraints`, with the cut report (constraints.cut_report against the same method without them)."""
    if method not in METHODS:
        raise ConfigError(f"portfolio method {method!r} is not one of {list(METHODS)}")
    c = constraints or Constraints()
    if returns.shape[1] == 0:
        return Allocation(pd.Series(dtype="float64"))
    if returns.shape[1] == 1:
        return Allocation(pd.Series(1.0, index=returns.columns))
    if not c.long_short and returns.shape[1] * c.max_weight < 1 - 1e-12:  # too few symbols to invest it all
        return _capped(method, returns, c, shrinkage)
    needs_cov = method not in COVARIANCE_FREE or c.binds()
    cov = covariance(returns, shrinkage) if needs_cov else pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # cvxpy / PyPortfolioOpt solver chatter
        free = unconstrained(method, returns, cov, c.base_bounds)
        if not c.binds():
            return Allocation(free)
        try:
            if method in OPTIMIZED:
                final, notes = _optimized(method, returns, cov, c.bounds, c, beta)
            else:
                final, notes = _projected(free, cov, c, beta), []
        except Exception as e:  # the solver's infeasible / failed: said with the constraints
            if type(e).__name__ not in ("OptimizationError", "SolverError", "ValueError"):
                raise
            raise ConfigError(f"portfolio {method}: no weights satisfy the constraints {c}: {e}") from None
    final = final.where(final.abs() > 1e-9, 0.0)
    return Allocation(final, cut_report(free, final, c, beta), notes)

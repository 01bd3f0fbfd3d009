"""Portfolio optimizers on a window of returns, through PyPortfolioOpt's formulations (the library the optimizers
rely on: small, well kept, Ledoit-Wolf shrinkage via scikit-learn, cvxpy underneath).

Methods (`METHODS`): equal_weight (1/n), inverse_vol (1/sigma_i, normalized), min_variance
(EfficientFrontier.min_volatility), max_sharpe (EfficientFrontier.max_sharpe, risk-free rate 0, historical mean
returns; a window where no asset's mean return is positive has no tangency portfolio: min_variance is used and
said so), risk_parity (equal risk contributions: PyPortfolioOpt has no ERC, so Spinu's (2013) convex
formulation min 0.5 x'Sx - sum(log x_i) / n over x > 0, normalized, as PyPortfolioOpt's convex_objective),
hrp (hierarchical risk parity, HRPOpt.optimize("single")'s steps on numpy: engine.portfolio.hrp).
Covariance: the sample covariance or Ledoit-Wolf shrinkage (engine.portfolio.estimates).

The cvxpy problems are PyPortfolioOpt's, built once per shape and re-solved per window (engine.portfolio.problems);
a window is a numpy array (`allocate_array`); `allocate` takes a DataFrame. Constraints
(engine.portfolio.constraints) enter min_variance and max_sharpe directly; the weights of the other methods are
projected on them (the closest weights, least squares, that satisfy every constraint) unless they already do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.portfolio import problems
from engine.portfolio.constraints import UNKNOWN_SECTOR, Constraints, Cut, cut_report
from engine.portfolio.estimates import PERIODS_PER_YEAR, covariance_array, mean_returns
from engine.portfolio.hrp import hrp_array

METHODS: tuple[str, ...] = ("equal_weight", "inverse_vol", "min_variance", "max_sharpe", "risk_parity", "hrp")
OPTIMIZED = ("min_variance", "max_sharpe")
"""Methods whose optimization takes the constraints itself; the others are projected on them."""
COVARIANCE_FREE = ("equal_weight", "hrp")
"""Methods that need no shrunk covariance of their own (HRP reads the window's sample covariance itself)."""
FEASIBLE_TOL = 1e-12
"""Weights within this of every limit need no projection (the projection of a feasible point is itself)."""

__all__ = ["METHODS", "PERIODS_PER_YEAR", "Allocation", "allocate", "allocate_array", "covariance"]


@dataclass(frozen=True)
class Allocation:
    """The weights of one optimization (`values`, in the order of `symbols`) and what constraints cut."""

    symbols: tuple[str, ...]
    values: np.ndarray
    cuts: list[Cut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def weights(self) -> pd.Series:
        """The weights by symbol."""
        return pd.Series(self.values, index=pd.Index(self.symbols, dtype=object), dtype="float64")


def covariance(returns: pd.DataFrame, shrinkage: bool, frequency: int = PERIODS_PER_YEAR) -> pd.DataFrame:
    """The annualized covariance of `returns`: Ledoit-Wolf shrunk (`shrinkage`) or the sample covariance."""
    values = covariance_array(returns.to_numpy(dtype="float64"), shrinkage, frequency)
    return pd.DataFrame(values, index=returns.columns, columns=returns.columns)


def _shape(kind: str, n: int, bounds: tuple[float, float], c: Constraints, symbols: tuple[str, ...]) -> problems.Shape:
    sectors = tuple(c.sectors.get(s, UNKNOWN_SECTOR) for s in symbols) if c.sector_max is not None else None
    return problems.Shape(kind, n, bounds[0], bounds[1], c.gross, sectors, c.sector_max, c.beta_max)


def _beta_values(c: Constraints, beta: np.ndarray | None) -> np.ndarray | None:
    if c.beta_max is not None and beta is None:
        raise ConfigError("beta limit: no benchmark returns to estimate betas from")
    return beta if c.beta_max is not None else None


def _optimized(
    method: str,
    values: np.ndarray,
    cov: np.ndarray,
    bounds: tuple[float, float],
    c: Constraints,
    symbols: tuple[str, ...],
    beta: np.ndarray | None,
) -> tuple[np.ndarray, list[str]]:
    from pypfopt.exceptions import OptimizationError

    n, b = len(symbols), _beta_values(c, beta)
    notes: list[str] = []
    if method == "max_sharpe":
        mu = mean_returns(values)
        if float(mu.max()) > 0:
            try:
                return problems.solve(_shape("max_sharpe", n, bounds, c, symbols), cov=cov, mu=mu, beta=b), notes
            except OptimizationError:  # within the constraints no portfolio has a positive mean return
                pass
        notes.append("max_sharpe: no portfolio has a positive mean return over the window; min_variance used")
    return problems.solve(_shape("min_variance", n, bounds, c, symbols), cov=cov, beta=b), notes


def unconstrained(
    method: str, values: np.ndarray, cov: np.ndarray | None, bounds: tuple[float, float], symbols: tuple[str, ...]
) -> np.ndarray:
    """The weights of `method` on the window `values` with only `bounds` (and sum 1)."""
    n = values.shape[1]
    if method == "equal_weight":
        return np.full(n, 1.0 / n)
    if method == "hrp":
        return hrp_array(values)
    assert cov is not None
    if method == "inverse_vol":
        inv = 1.0 / np.sqrt(np.diag(cov))
        return inv / inv.sum()
    if method == "risk_parity":  # scaled to a mean variance of 1: the same solution, better conditioned
        return problems.solve(problems.Shape("risk_parity", n, 1e-9, 1.0), cov=cov / np.mean(np.diag(cov)))
    return _optimized(method, values, cov, bounds, Constraints(), symbols, None)[0]


def _feasible(w: np.ndarray, c: Constraints, symbols: tuple[str, ...], beta: np.ndarray | None) -> bool:
    """True when `w` (summing to 1) already satisfies every limit of `c`."""
    lo, hi = c.bounds
    if w.min() < lo - FEASIBLE_TOL or w.max() > hi + FEASIBLE_TOL:
        return False
    if c.gross is not None and np.abs(w).sum() > c.gross + FEASIBLE_TOL:
        return False
    if c.sector_max is not None:
        sums: dict[str, float] = {}
        for s, x in zip(symbols, w, strict=True):
            sector = c.sectors.get(s, UNKNOWN_SECTOR)
            sums[sector] = sums.get(sector, 0.0) + float(x)
        if max(sums.values()) > c.sector_max + FEASIBLE_TOL:
            return False
    b = _beta_values(c, beta)
    return b is None or abs(float(b @ w)) <= float(c.beta_max or 0.0) + FEASIBLE_TOL


def _projected(target: np.ndarray, c: Constraints, symbols: tuple[str, ...], beta: np.ndarray | None) -> np.ndarray:
    """The weights closest to `target` (least squares) that satisfy `c`."""
    if _feasible(target, c, symbols, beta):
        return target
    shape = _shape("projection", len(symbols), c.bounds, c, symbols)
    return problems.solve(shape, target=target, beta=_beta_values(c, beta))


def _series(values: np.ndarray, symbols: tuple[str, ...]) -> pd.Series:
    return pd.Series(values, index=pd.Index(symbols, dtype=object), dtype="float64")


def _capped(method: str, values: np.ndarray, symbols: tuple[str, ...], c: Constraints, shrinkage: bool) -> Allocation:
    """max_weight in each of too few symbols to reach 100 % under it (n x max_weight < 1): the rest in cash."""
    free = allocate_array(method, values, symbols, shrinkage=shrinkage).values
    final = np.full(len(symbols), c.max_weight)
    note = f"{len(final)} symbol(s) x max_weight {c.max_weight:g} < 1: {1 - final.sum():.0%} left in cash"
    return Allocation(symbols, final, cut_report(_series(free, symbols), _series(final, symbols), c, None), [note])


def allocate_array(
    method: str,
    values: np.ndarray,
    symbols: tuple[str, ...],
    constraints: Constraints | None = None,
    *,
    shrinkage: bool = True,
    beta: np.ndarray | None = None,
) -> Allocation:
    """The weights of `method` over the window `values` (rows = bars, columns = `symbols`, no NaN) under
    `constraints` (beta: each symbol's beta, needed by a beta limit), with the cut report
    (constraints.cut_report against the same method without them)."""
    if method not in METHODS:
        raise ConfigError(f"portfolio method {method!r} is not one of {list(METHODS)}")
    c = constraints or Constraints()
    n = values.shape[1]
    if n == 0:
        return Allocation((), np.zeros(0))
    if n == 1:
        return Allocation(symbols, np.ones(1))
    if not c.long_short and n * c.max_weight < 1 - 1e-12:  # too few symbols to invest it all
        return _capped(method, values, symbols, c, shrinkage)
    cov = covariance_array(values, shrinkage) if method not in COVARIANCE_FREE else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # cvxpy / PyPortfolioOpt solver chatter
        free = unconstrained(method, values, cov, c.base_bounds, symbols)
        if not c.binds():
            return Allocation(symbols, free)
        try:
            if method in OPTIMIZED:
                assert cov is not None
                final, notes = _optimized(method, values, cov, c.bounds, c, symbols, beta)
            else:
                final, notes = _projected(free, c, symbols, beta), []
        except Exception as e:  # the solver's infeasible / failed: said with the constraints
            if type(e).__name__ not in ("OptimizationError", "SolverError", "ValueError"):
                raise
            raise ConfigError(f"portfolio {method}: no weights satisfy the constraints {c}: {e}") from None
    final = np.where(np.abs(final) > 1e-9, final, 0.0)
    beta_series = _series(beta, symbols) if beta is not None else None
    return Allocation(
        symbols, final, cut_report(_series(free, symbols), _series(final, symbols), c, beta_series), notes
    )


def allocate(
    method: str,
    returns: pd.DataFrame,
    constraints: Constraints | None = None,
    *,
    shrinkage: bool = True,
    beta: pd.Series | None = None,
) -> Allocation:
    """`allocate_array` on a DataFrame window (columns = symbols; beta by symbol)."""
    symbols = tuple(str(s) for s in returns.columns)
    b = beta.reindex(list(symbols)).to_numpy(dtype="float64") if beta is not None else None
    return allocate_array(method, returns.to_numpy(dtype="float64"), symbols, constraints, shrinkage=shrinkage, beta=b)

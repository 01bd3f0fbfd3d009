"""The optimizers' cvxpy problems, built once per shape and re-solved per window with new Parameter values.

PyPortfolioOpt's EfficientFrontier / BaseConvexOptimizer build a new cvxpy problem on every call (its objects,
pandas checks, the expression tree); a backtest re-optimizes hundreds of windows of the same shape. Here each
problem is PyPortfolioOpt's own formulation, term for term and constraint for constraint in its order, with the
window's numbers (covariance, mean returns, betas, the projection's target) as cvxpy Parameters:

- min_variance: EfficientFrontier.min_volatility: min quad_form(w, S) s.t. w >= lower, w <= upper, [gross,
  sector, beta limits], sum(w) = 1;
- max_sharpe: EfficientFrontier.max_sharpe(risk_free_rate=0)'s transformed problem: min quad_form(y, S) s.t.
  mu'y = 1, sum(y) = k, k >= 0, then every limit scaled by k (y >= lower k, y <= upper k, ...); w = y / k;
- risk_parity: Spinu's program through BaseConvexOptimizer.convex_objective (bounds 1e-9 .. 1, no sum);
- projection: the least-squares weights closest to a target within the limits (convex_objective, sum 1).

Solved like PyPortfolioOpt solves them: cvxpy's default solver for the problem class (OSQP for the quadratic
programs, Clarabel for risk parity's logarithm), default settings, and without warm start: OSQP stops at its
default accuracy (about 1e-4 on a weight), so a warm start from the previous window would land elsewhere within
that accuracy; a cold start lands where PyPortfolioOpt does (tests/engine/portfolio/
test_fast_path_matches_library.py compares both on many windows). The quadratic form's matrix enters through
`psd_wrap` (a window's covariance is positive semidefinite after risk_models.fix_nonpositive_semidefinite).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

import numpy as np

CACHE_SIZE = 64


@dataclass(frozen=True)
class Shape:
    """What fixes a problem's structure: the method, the number of assets and the limits (not their data)."""

    kind: str
    n: int
    lower: float
    upper: float
    gross: float | None = None
    sectors: tuple[str, ...] | None = None
    """each asset's sector, in the window's order (None = no sector limit)"""
    sector_max: float | None = None
    beta_max: float | None = None


@dataclass
class _Built:
    problem: Any
    params: dict[str, Any]
    variables: dict[str, Any]
    lock: Lock


_built: OrderedDict[Shape, _Built] = OrderedDict()
_built_lock = Lock()


def _limits(w: Any, shape: Shape, beta: Any, k: Any = None) -> list[Any]:
    """The bounds and limits in PyPortfolioOpt's order (bounds, then gross, sectors, beta as add_constraints
    adds them); with `k` (max_sharpe's scale) every right-hand side times k, as max_sharpe rebuilds them."""
    import cvxpy as cp

    def scaled(bound: Any) -> Any:
        return bound if k is None else cp.Constant(bound) * k

    out = [w >= scaled(np.full(shape.n, shape.lower)), w <= scaled(np.full(shape.n, shape.upper))]
    if shape.gross is not None:
        out.append(cp.norm1(w) <= scaled(shape.gross))
    if shape.sectors is not None and shape.sector_max is not None:
        for sector in dict.fromkeys(shape.sectors):
            members = [s == sector for s in shape.sectors]
            out.append(cp.sum(w[members]) <= scaled(shape.sector_max))
    if shape.beta_max is not None:
        out += [beta @ w <= scaled(shape.beta_max), beta @ w >= scaled(-shape.beta_max)]
    return out


def _build(shape: Shape) -> _Built:
    import cvxpy as cp

    n = shape.n
    w = cp.Variable(n)
    params: dict[str, Any] = {}
    beta = params["beta"] = cp.Parameter(n, name="beta") if shape.beta_max is not None else None
    variables: dict[str, Any] = {"w": w}
    if shape.kind == "projection":
        target = params["target"] = cp.Parameter(n, name="target")
        problem = cp.Problem(cp.Minimize(cp.sum_squares(w - target)), [*_limits(w, shape, beta), cp.sum(w) == 1])
        return _Built(problem, params, variables, Lock())
    cov = params["cov"] = cp.Parameter((n, n), name="cov")
    if shape.kind == "min_variance":
        objective = cp.quad_form(w, cp.psd_wrap(cov), assume_PSD=True)
        problem = cp.Problem(cp.Minimize(objective), [*_limits(w, shape, beta), cp.sum(w) == 1])
    elif shape.kind == "max_sharpe":
        k = variables["k"] = cp.Variable()
        mu = params["mu"] = cp.Parameter(n, name="mu")
        transformed = [mu @ w == 1, cp.sum(w) == k, k >= 0, *_limits(w, shape, beta, k)]
        problem = cp.Problem(cp.Minimize(cp.quad_form(w, cp.psd_wrap(cov), assume_PSD=True)), transformed)
    elif shape.kind == "risk_parity":
        objective = 0.5 * cp.quad_form(w, cp.psd_wrap(cov), assume_PSD=True) - cp.sum(cp.log(w)) / n
        problem = cp.Problem(cp.Minimize(objective), _limits(w, shape, beta))
    else:
        raise ValueError(f"no cvxpy problem for {shape.kind!r}")
    return _Built(problem, params, variables, Lock())


def _get(shape: Shape) -> _Built:
    with _built_lock:
        if shape in _built:
            _built.move_to_end(shape)
            return _built[shape]
    built = _build(shape)
    with _built_lock:
        built = _built.setdefault(shape, built)
        while len(_built) > CACHE_SIZE:
            _built.popitem(last=False)
    return built


def solve(shape: Shape, **values: np.ndarray | None) -> np.ndarray:
    """The weights of the problem of `shape` with its Parameters set to `values` (cov, or target for a projection;
    mu for max_sharpe; beta when the shape limits beta); risk parity's normalized to sum 1. Raises PyPortfolioOpt's OptimizationError when the solver finds no optimum, as it does."""
    import cvxpy as cp
    from pypfopt.exceptions import OptimizationError

    built = _get(shape)
    with built.lock:
        for name, param in built.params.items():
            if param is not None:
                param.value = values[name]
        try:
            built.problem.solve(solver=None, warm_start=False)
        except (TypeError, cp.DCPError) as e:
            raise OptimizationError from e
        if built.problem.status not in {"optimal", "optimal_inaccurate"}:
            raise OptimizationError(f"Solver status: {built.problem.status}")
        w = np.asarray(built.variables["w"].value, dtype="float64")
        if shape.kind == "max_sharpe":  # EfficientFrontier.max_sharpe's inverse transform
            return (w / float(built.variables["k"].value)).round(16) + 0.0
        w = w.round(16) + 0.0  # as PyPortfolioOpt reads a solution
        return w / w.sum() if shape.kind == "risk_parity" else w


def clear() -> None:
    """Forget every built problem (the benchmark's first run builds them again)."""
    with _built_lock:
        _built.clear()

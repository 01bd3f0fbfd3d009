"""The fast path (numpy windows, cvxpy problems built once and re-solved, HRP's bisection on numpy) equals
PyPortfolioOpt called directly on the same windows: EfficientFrontier with and without constraints, HRPOpt,
CovarianceShrinkage, mean_historical_return, and Spinu's risk parity through BaseConvexOptimizer."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
import scipy.cluster.hierarchy as sch
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models
from pypfopt.base_optimizer import BaseConvexOptimizer

from engine.data import load_market_data
from engine.data.sources import SAMPLE_DIR
from engine.portfolio import problems
from engine.portfolio.constraints import Constraints, betas, sector_map
from engine.portfolio.estimates import covariance_array, mean_returns
from engine.portfolio.hrp import hrp_array
from engine.portfolio.optimizers import allocate

SAME = 1e-9
"""The same problem solved the same way (the same data to the same solver, cold start) gives the same weights:
no tolerance beyond rounding (bit for bit equal where this was written), far inside the 1e-4 the tests holding
allocate to EfficientFrontier allow (OSQP's default accuracy)."""


@pytest.fixture(scope="module")
def windows() -> list[pd.DataFrame]:
    """Six 252-bar windows of every bundled symbol with a close on each bar (weekends dropped)."""
    symbols = sorted(p.stem for p in SAMPLE_DIR.glob("*.csv"))
    close = load_market_data(symbols, "2015-01-01", "2021-12-31").close
    returns = close.ffill().pct_change(fill_method=None)
    out = []
    for end in range(300, len(returns), (len(returns) - 300) // 5):
        window = returns.iloc[end - 251 : end + 1]
        window = window.loc[:, window.notna().all()]
        out.append(window[window.index.day_of_week < 5])
    assert len(out) >= 6 and all(w.shape[1] >= 30 for w in out)
    return out


def _reference(window: pd.DataFrame, method: str, c: Constraints, beta: pd.Series | None = None) -> pd.Series:
    """EfficientFrontier called directly, the constraints through its own API."""
    cov = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf()
    mu = expected_returns.mean_historical_return(window, returns_data=True) if method == "max_sharpe" else None
    ef = EfficientFrontier(mu, cov, weight_bounds=c.bounds)
    if c.gross is not None:
        ef.add_constraint(lambda w: cp.norm1(w) <= c.gross)
    if c.sector_max is not None:
        sectors = {s: c.sectors[s] for s in window.columns}
        ef.add_sector_constraints(sectors, {}, dict.fromkeys(sectors.values(), c.sector_max))
    if beta is not None and c.beta_max is not None:
        b = beta[window.columns].to_numpy()
        ef.add_constraint(lambda w: b @ w <= c.beta_max)
        ef.add_constraint(lambda w: b @ w >= -c.beta_max)
    weights = ef.max_sharpe(risk_free_rate=0.0) if method == "max_sharpe" else ef.min_volatility()
    return pd.Series(weights)


def _constraints(window: pd.DataFrame) -> dict[str, Constraints]:
    sectors = sector_map(list(window.columns))
    return {
        "none": Constraints(),
        "bounds": Constraints(min_weight=0.01, max_weight=0.1),
        "sector": Constraints(sector_max=0.25, sectors=sectors),
        "beta": Constraints(beta_max=0.2),
        "long_short_gross": Constraints(max_weight=0.3, long_short=True, gross=1.6),
    }


@pytest.mark.slow
@pytest.mark.parametrize("method", ["min_variance", "max_sharpe"])
def test_optimized_equal_efficient_frontier_on_many_windows(
    windows: list[pd.DataFrame], method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    problems.clear()
    built, solved = [], []
    build, solve = problems._build, problems.solve
    monkeypatch.setattr(problems, "_build", lambda shape: built.append(shape) or build(shape))
    monkeypatch.setattr(problems, "solve", lambda shape, **v: solved.append(shape) or solve(shape, **v))
    for window in windows:
        beta = betas(window, window["SPY"])
        for name, c in _constraints(window).items():
            if method == "max_sharpe" and expected_returns.mean_historical_return(window, returns_data=True).max() <= 0:
                continue
            expected = _reference(window, method, c, beta)
            got = allocate(method, window, c, beta=beta).weights
            assert np.abs(got[expected.index] - expected).max() < SAME, (method, name, window.index[-1])
    # one problem per shape (method, number of symbols, limits, sectors): built once, re-solved on every window
    assert len(built) == len(set(built)) == len(set(solved)) and 3 * len(built) < len(solved)


def test_hrp_equals_hrpopt_on_many_windows(windows: list[pd.DataFrame], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sch, "_LINKAGE_METHODS", {"single": 0}, raising=False)  # see test_optimizers_match_library
    for window in windows:
        expected = pd.Series(HRPOpt(window).optimize("single"))[window.columns]
        assert np.abs(hrp_array(window.to_numpy()) - expected.to_numpy()).max() < 1e-12


def test_estimates_equal_the_library(windows: list[pd.DataFrame]) -> None:
    for window in windows[:3]:
        values = window.to_numpy()
        shrunk = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf().to_numpy()
        assert np.abs(covariance_array(values, shrinkage=True) - shrunk).max() < 1e-12
        sample = risk_models.sample_cov(window, returns_data=True).to_numpy()
        assert np.abs(covariance_array(values, shrinkage=False) - sample).max() < 1e-12
        mu = expected_returns.mean_historical_return(window, returns_data=True).to_numpy()
        assert np.abs(mean_returns(values) - mu).max() < 1e-12


def test_risk_parity_equals_convex_objective_called_directly(windows: list[pd.DataFrame]) -> None:
    for window in windows[:3]:
        cov = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf().to_numpy()
        n, scaled = len(cov), cov / np.mean(np.diag(cov))
        opt = BaseConvexOptimizer(n, list(window.columns), weight_bounds=(1e-9, None))
        opt.convex_objective(
            lambda x, s=scaled, n=n: 0.5 * cp.quad_form(x, s, assume_PSD=True) - cp.sum(cp.log(x)) / n,
            weights_sum_to_one=False,
        )
        expected = opt.weights / opt.weights.sum()
        assert np.abs(allocate("risk_parity", window).weights.to_numpy() - expected).max() < SAME


def test_projection_equals_convex_objective_called_directly(windows: list[pd.DataFrame]) -> None:
    window = windows[0]
    c = Constraints(max_weight=0.06, sector_max=0.2, sectors=sector_map(list(window.columns)))
    free = allocate("inverse_vol", window).weights.to_numpy()
    cov = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf()
    ef = EfficientFrontier(None, cov, weight_bounds=c.bounds)
    sectors = {s: c.sectors[s] for s in window.columns}
    ef.add_sector_constraints(sectors, {}, dict.fromkeys(sectors.values(), 0.2))
    expected = pd.Series(ef.convex_objective(lambda w: cp.sum_squares(w - free)))
    got = allocate("inverse_vol", window, c).weights
    assert np.abs(got[expected.index] - expected).max() < SAME
    assert got.max() <= 0.06 + 1e-6 and np.abs(got.to_numpy() - free).max() > 1e-3  # the limits did bind


def test_feasible_weights_are_not_projected(windows: list[pd.DataFrame]) -> None:
    window = windows[0]
    loose = Constraints(max_weight=0.5, gross=None, sector_max=0.9, sectors=sector_map(list(window.columns)))
    free = allocate("hrp", window).weights
    result = allocate("hrp", window, loose)
    assert free.max() < 0.5 and np.array_equal(result.weights.to_numpy(), free.to_numpy()) and not result.cuts

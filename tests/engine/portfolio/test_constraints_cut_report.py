"""Constraints are respected and every weight they cut is reported with the constraint that cut it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pypfopt import EfficientFrontier, risk_models
from scipy.optimize import brentq

from engine.data import load_market_data
from engine.portfolio.constraints import Constraints, betas, sector_map
from engine.portfolio.optimizers import allocate

SYMBOLS = ["SPY", "TLT", "GLD", "XLU", "XLP", "KO", "PG", "XOM", "CVX"]


@pytest.fixture(scope="module")
def window() -> pd.DataFrame:
    return load_market_data(SYMBOLS, "2017-01-01", "2018-12-31").close.pct_change().dropna()


def test_sector_map_is_the_shipped_one() -> None:
    sectors = sector_map(["XOM", "CVX", "KO", "NOPE"])
    assert sectors == {"XOM": "Energy", "CVX": "Energy", "KO": "Consumer Staples", "NOPE": "Unknown"}


def test_max_weight_cut_is_reported_and_matches_the_library(window: pd.DataFrame) -> None:
    free = allocate("min_variance", window).weights
    assert free.max() > 0.25  # the limit below binds
    result = allocate("min_variance", window, Constraints(max_weight=0.25))
    cov = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf()
    expected = pd.Series(EfficientFrontier(None, cov, weight_bounds=(0, 0.25)).min_volatility())
    assert np.allclose(result.weights[expected.index], expected, atol=1e-4)
    assert result.weights.max() <= 0.25 + 1e-6
    cut = {c.symbol: c for c in result.cuts}
    for symbol in free.index[free > 0.25 + 1e-6]:
        assert cut[symbol].constraint.startswith("max_weight 0.25")
        assert cut[symbol].unconstrained == pytest.approx(free[symbol])
        assert cut[symbol].weight == pytest.approx(0.25, abs=1e-5)


def test_sector_limit_holds_names_the_sector_and_matches_the_library(window: pd.DataFrame) -> None:
    sectors = sector_map(SYMBOLS)
    free = allocate("min_variance", window).weights
    assert free["TLT"] > 0.3  # Bonds (TLT alone here) is over the limit below
    result = allocate("min_variance", window, Constraints(sector_max=0.3, sectors=sectors))
    by_sector = result.weights.groupby(pd.Series(sectors)).sum()
    assert (by_sector <= 0.3 + 1e-6).all()
    assert any(c.symbol == "TLT" and "sector Bonds <= 0.3" in c.constraint for c in result.cuts)
    cov = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf()
    ef = EfficientFrontier(None, cov, weight_bounds=(0, 1))
    ef.add_sector_constraints(sectors, {}, dict.fromkeys(set(sectors.values()), 0.3))
    expected = pd.Series(ef.min_volatility())
    assert np.allclose(result.weights[expected.index], expected, atol=1e-4)


def test_beta_limit_vs_benchmark(window: pd.DataFrame) -> None:
    beta = betas(window, window["SPY"])
    assert beta["SPY"] == pytest.approx(1.0)
    expected_xom = np.cov(window["XOM"], window["SPY"])[0, 1] / window["SPY"].var()
    assert beta["XOM"] == pytest.approx(expected_xom)
    result = allocate("max_sharpe", window, Constraints(beta_max=0.1), beta=beta)
    assert abs(float(result.weights @ beta)) <= 0.1 + 1e-5
    free_beta = float(allocate("max_sharpe", window).weights @ beta)
    if free_beta > 0.1 + 1e-4:
        assert any(c.constraint.startswith("beta <= 0.1") for c in result.cuts)


def test_long_short_gross_leverage(window: pd.DataFrame) -> None:
    c = Constraints(max_weight=0.8, long_short=True, gross=1.5)
    result = allocate("max_sharpe", window, c)
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.weights.abs().sum() <= 1.5 + 1e-5
    assert result.weights.min() >= -0.8 - 1e-6


def test_projection_keeps_heuristic_methods_within_limits(window: pd.DataFrame) -> None:
    free = allocate("inverse_vol", window, shrinkage=False).weights
    result = allocate("inverse_vol", window, Constraints(max_weight=0.12), shrinkage=False)
    # the closest weights (least squares) in {sum 1, 0 <= w <= 0.12}: clip(v - lam, 0, 0.12) with sum 1
    lam = brentq(lambda x: np.clip(free - x, 0, 0.12).sum() - 1.0, -1.0, 1.0, xtol=1e-14)
    assert np.allclose(result.weights, np.clip(free - lam, 0, 0.12), atol=1e-5)
    over = set(free.index[free > 0.12 + 1e-6])
    assert over and {c.symbol for c in result.cuts} == over
    assert all(c.constraint == "max_weight 0.12" for c in result.cuts)


def test_too_few_symbols_for_the_cap_leave_cash(window: pd.DataFrame) -> None:
    result = allocate("min_variance", window, Constraints(max_weight=0.1))  # 9 symbols x 0.1 < 1
    assert np.allclose(result.weights, 0.1) and "10% left in cash" in result.notes[0]


def test_infeasible_constraints_say_so(window: pd.DataFrame) -> None:
    from engine.errors import ConfigError

    sectors = sector_map(SYMBOLS)  # 6 sectors x 0.05 < 1
    with pytest.raises(ConfigError, match="no weights satisfy"):
        allocate("min_variance", window, Constraints(sector_max=0.05, sectors=sectors))

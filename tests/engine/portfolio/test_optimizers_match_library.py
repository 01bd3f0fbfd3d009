"""Each optimizer method equals PyPortfolioOpt called directly on the same window (or an independent
calculation), and the two-asset minimum variance equals its closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.cluster.hierarchy as sch
from pypfopt import EfficientFrontier, HRPOpt, expected_returns, risk_models

from engine.data import load_market_data
from engine.portfolio.optimizers import allocate, covariance

SYMBOLS = ["SPY", "TLT", "GLD", "XLE", "XLU", "JNJ"]


@pytest.fixture(scope="module")
def window() -> pd.DataFrame:
    close = load_market_data(SYMBOLS, "2017-01-01", "2018-12-31").close
    return close.pct_change().dropna()


def test_min_variance_equals_efficient_frontier_on_ledoit_wolf(window: pd.DataFrame) -> None:
    cov = risk_models.CovarianceShrinkage(window, returns_data=True).ledoit_wolf()
    expected = pd.Series(EfficientFrontier(None, cov, weight_bounds=(0, 1)).min_volatility())
    got = allocate("min_variance", window).weights
    assert np.allclose(got[expected.index], expected, atol=1e-4)


def test_max_sharpe_equals_efficient_frontier_on_sample_covariance(window: pd.DataFrame) -> None:
    cov = risk_models.sample_cov(window, returns_data=True)
    mu = expected_returns.mean_historical_return(window, returns_data=True)
    expected = pd.Series(EfficientFrontier(mu, cov, weight_bounds=(0, 1)).max_sharpe(risk_free_rate=0.0))
    got = allocate("max_sharpe", window, shrinkage=False).weights
    assert np.allclose(got[expected.index], expected, atol=1e-4)


def test_hrp_equals_hrpopt(window: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    # PyPortfolioOpt 1.6's optimize() checks the method name against a private scipy list scipy 1.18 dropped
    monkeypatch.setattr(sch, "_LINKAGE_METHODS", {"single": 0}, raising=False)
    expected = pd.Series(HRPOpt(window).optimize("single"))
    got = allocate("hrp", window).weights
    assert np.allclose(got[expected.index], expected, atol=1e-12)


def test_inverse_vol_and_equal_weight_by_hand(window: pd.DataFrame) -> None:
    vol = window.std()  # the shrunk diagonal differs, so use the sample covariance here
    expected = (1 / vol) / (1 / vol).sum()
    assert np.allclose(allocate("inverse_vol", window, shrinkage=False).weights, expected, atol=1e-12)
    assert np.allclose(allocate("equal_weight", window).weights, 1 / len(SYMBOLS))


def test_risk_parity_has_equal_risk_contributions(window: pd.DataFrame) -> None:
    w = allocate("risk_parity", window, shrinkage=False).weights.to_numpy()
    cov = window.cov().to_numpy()
    contributions = w * (cov @ w)
    assert w.min() > 0 and w.sum() == pytest.approx(1.0)
    assert np.allclose(contributions / contributions.sum(), 1 / len(w), atol=1e-4)


def test_two_asset_min_variance_equals_closed_form(window: pd.DataFrame) -> None:
    pair = window[["SPY", "TLT"]]
    s = covariance(pair, shrinkage=False).to_numpy()
    w1 = (s[1, 1] - s[0, 1]) / (s[0, 0] + s[1, 1] - 2 * s[0, 1])
    got = allocate("min_variance", pair, shrinkage=False).weights
    assert 0 < w1 < 1
    assert got["SPY"] == pytest.approx(w1, abs=1e-5) and got["TLT"] == pytest.approx(1 - w1, abs=1e-5)


def test_ledoit_wolf_is_sklearns_shrinkage(window: pd.DataFrame) -> None:
    from sklearn.covariance import ledoit_wolf

    shrunk, _ = ledoit_wolf(window.to_numpy())
    assert np.allclose(covariance(window, shrinkage=True).to_numpy(), shrunk * 252, rtol=1e-8)

"""Regime models (engine/strategies/regimes.py) against independent calculations.

voltrend: the labels equal a hand computation (pandas rolling mean for the SMA, numpy std and np.quantile over
every volatility up to t). markov: the filtered probabilities equal statsmodels' MarkovRegression called
directly on the same window, and the regime at t equals the one computed on the data truncated at t.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from engine.errors import ConfigError
from engine.strategies.regimes import RegimeModel, markov_probabilities, regime_labels, voltrend_labels
from tests.engine.regime_helpers import two_regime_prices
from tests.engine.test_strategies_common import read_csv


def hand_voltrend(close: pd.Series, sma_length: int, vol_window: int, quantile: float, min_history: int) -> list:
    """The voltrend label per bar worked out with pandas' rolling mean, numpy's std and np.quantile (None = undefined)."""
    c = close.to_numpy()
    r = np.r_[np.nan, c[1:] / c[:-1] - 1.0]
    vol = np.full(len(c), np.nan)
    for t in range(vol_window, len(c)):
        vol[t] = np.std(r[t - vol_window + 1 : t + 1], ddof=1) * math.sqrt(252)
    sma = close.rolling(sma_length).mean().to_numpy()
    expected: list = []
    for t in range(len(c)):
        seen = vol[: t + 1][~np.isnan(vol[: t + 1])]
        if len(seen) < min_history or np.isnan(sma[t]):
            expected.append(None)
            continue
        trend = "bull" if c[t] > sma[t] else "bear"
        level = "volatile" if vol[t] > np.quantile(seen, quantile) else "calm"
        expected.append(f"{trend}_{level}")
    return expected


def test_voltrend_labels_equal_a_hand_computation() -> None:
    close = read_csv("SPY")["close"].iloc[:700]
    model = RegimeModel(sma_length=50, vol_window=10, vol_quantile=0.7, min_history=100)
    got = voltrend_labels(close, model)
    expected = hand_voltrend(close, 50, 10, 0.7, 100)
    assert [None if pd.isna(v) else v for v in got] == expected
    assert {"bull_calm", "bull_volatile", "bear_calm", "bear_volatile"} <= set(expected)
    assert expected[108] is None and expected[109] is not None  # 100 volatilities from bar 10: bar 109


def test_labels_of_a_symbol_with_gaps_come_back_on_its_rows() -> None:
    close = read_csv("SPY")["close"].iloc[:400].copy()
    gappy = close.copy()
    gappy.iloc[[5, 300]] = np.nan
    model = RegimeModel(sma_length=50, vol_window=10, min_history=60)
    got = regime_labels(gappy, model)
    own = voltrend_labels(gappy.dropna(), model)
    assert pd.isna(got.iloc[300]) and got.drop(gappy.index[[5, 300]]).equals(own)


@pytest.fixture(scope="module")
def wild() -> pd.Series:
    prices = two_regime_prices()
    return pd.Series(prices, index=pd.bdate_range("2020-01-01", periods=len(prices)))


MARKOV = RegimeModel(method="markov", min_history=200, refit_every=100)


@pytest.mark.slow
def test_markov_filtered_probabilities_equal_statsmodels_on_the_same_window(wild: pd.Series) -> None:
    probs = markov_probabilities(wild, MARKOV)
    r = wild.pct_change().to_numpy()[1:] * 100.0
    for refit, t in ((200, 260), (300, 330), (500, 599)):  # fitted at the close of `refit`, read at t
        fit = MarkovRegression(r[:refit], k_regimes=2, trend="c", switching_variance=True).fit(disp=False)
        direct = MarkovRegression(r[:t], k_regimes=2, trend="c", switching_variance=True).filter(fit.params)
        filtered = np.asarray(direct.filtered_marginal_probabilities)[-1]
        calm = int(np.argmin(np.asarray(fit.params)[-2:]))  # the lower-variance state
        assert probs.iloc[t].tolist() == pytest.approx([filtered[calm], filtered[1 - calm]], abs=1e-9)
    assert probs.iloc[:200].isna().all().all() and probs.iloc[200:].notna().all().all()
    # the wild stretch (returns 250..349 = bars 251..350) reads volatile, the calm ones calm
    labels = np.where(probs["volatile"] > probs["calm"], "volatile", "calm")
    assert (labels[270:345] == "volatile").mean() > 0.9 and (labels[420:] == "calm").mean() > 0.9


@pytest.mark.slow
def test_markov_regime_at_t_equals_a_run_truncated_at_t(wild: pd.Series) -> None:
    full = regime_labels(wild, MARKOV)
    full_probs = markov_probabilities(wild, MARKOV)
    for t in (199, 200, 257, 299, 300, 301, 412):
        cut = wild.iloc[: t + 1]
        got, want = regime_labels(cut, MARKOV).iloc[-1], full.iloc[t]
        assert (pd.isna(got) and pd.isna(want)) if t < 200 else got == want, t
        np.testing.assert_allclose(markov_probabilities(cut, MARKOV).iloc[-1], full_probs.iloc[t], atol=1e-9)


def test_rolling_markov_window_uses_only_the_last_returns(wild: pd.Series) -> None:
    rolling = RegimeModel(method="markov", min_history=200, refit_every=400, markov_window=150)
    probs = markov_probabilities(wild, rolling)
    r = wild.pct_change().to_numpy()[1:] * 100.0
    fit = MarkovRegression(r[50:200], k_regimes=2, trend="c", switching_variance=True).fit(disp=False)
    direct = MarkovRegression(r[50:230], k_regimes=2, trend="c", switching_variance=True).filter(fit.params)
    filtered = np.asarray(direct.filtered_marginal_probabilities)[-1]
    calm = int(np.argmin(np.asarray(fit.params)[-2:]))
    assert probs.iloc[230].tolist() == pytest.approx([filtered[calm], filtered[1 - calm]], abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "hmm"}, "regime method 'hmm' is unknown"),
        ({"vol_quantile": 1.0}, "vol_quantile must be in (0, 1), got 1.0"),
        ({"markov_window": 5}, "markov_window must be 0 (expanding) or >= 20 bars, got 5"),
    ],
)
def test_bad_model_settings_are_refused_with_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        RegimeModel(**kwargs)
    assert message in str(err.value)

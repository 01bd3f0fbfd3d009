"""pairs on a synthetic cointegrated pair, worked out by hand: numpy lstsq for the hedge ratio on each window,
the residual's z-score, statsmodels' coint called directly for the p-value, the entry/exit state machine in a
plain loop, dollar- and beta-neutral legs; plus the look-ahead audit."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.stattools import coint

from engine.errors import ConfigError, StrategyError
from engine.research.audit import audit_lookahead
from engine.strategies.pairs import Pairs
from tests.engine.regime_helpers import market_of

W = 40


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    n = 260
    x = 50.0 + np.cumsum(rng.normal(0, 1.0, n))
    spread = np.zeros(n)
    for t in range(1, n):
        spread[t] = 0.7 * spread[t - 1] + rng.normal(0, 1.0)
    y = 10.0 + 1.5 * x + spread
    z_noise = 30 + np.cumsum(rng.normal(0, 1, n))  # a third symbol, never traded
    return market_of({"Y": y, "X": x, "Z": np.abs(z_noise) + 5})


def hand(pair, params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights of Y and X, hedge ratio, z-score) from a loop over the bars."""
    p = {"window": W, "entry_z": 2.0, "exit_z": 0.5, "max_pvalue": 0.1, "coint_every": 21, "neutral": "dollar"}
    p.update(params)
    y, x = pair.close["Y"].to_numpy(), pair.close["X"].to_numpy()
    n, w = len(y), p["window"]
    b = np.full(n, np.nan)
    z = np.full(n, np.nan)
    pv = np.full(n, np.nan)
    for t in range(w - 1, n):
        ys, xs = y[t - w + 1 : t + 1], x[t - w + 1 : t + 1]
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(w), xs]), ys, rcond=None)
        resid = ys - coef[0] - coef[1] * xs
        b[t], z[t] = coef[1], resid[-1] / np.std(resid, ddof=1)
        if (t - (w - 1)) % p["coint_every"] == 0:
            pv[t] = coint(ys, xs, trend="c", maxlag=1, autolag=None)[1]
        else:
            pv[t] = pv[t - 1]
    weights = np.zeros((n, 2))
    pos, held = 0, np.nan
    for t in range(n):
        ok = pv[t] <= p["max_pvalue"]
        if not np.isnan(z[t]):
            if ok and z[t] < -p["entry_z"] and pos != 1:
                pos, held = 1, b[t]
            elif ok and z[t] > p["entry_z"] and pos != -1:
                pos, held = -1, b[t]
            elif pos == 1 and z[t] >= -p["exit_z"] or pos == -1 and z[t] <= p["exit_z"]:
                pos = 0
        if pos == 0:
            continue
        if p["neutral"] == "dollar":
            weights[t] = [pos * 0.5, -pos * np.sign(held) * 0.5]
        else:
            value_y, value_x = y[t], abs(held) * x[t]
            weights[t] = [pos * value_y / (value_y + value_x), -pos * np.sign(held) * value_x / (value_y + value_x)]
    return weights, b, z


@pytest.mark.parametrize("neutral", ["dollar", "beta"])
def test_weights_equal_the_hand_calculation(pair, neutral: str) -> None:
    strategy = Pairs({"window": W, "neutral": neutral})
    expected, b, z = hand(pair, {"neutral": neutral})
    got = strategy.target_weights(pair)
    np.testing.assert_allclose(got[["Y", "X"]].to_numpy(), expected, rtol=1e-9, atol=1e-12)
    assert (got["Z"] == 0).all()
    signals = strategy.signals(pair)
    np.testing.assert_allclose(signals["b"], b, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(signals["z"], z, rtol=1e-7, atol=1e-9, equal_nan=True)
    longs, shorts = (expected[:, 0] > 0).sum(), (expected[:, 0] < 0).sum()
    assert longs > 5 and shorts > 5  # the case trades both sides
    assert np.nanmean(b[W:]) == pytest.approx(1.5, abs=0.3)


def test_the_cointegration_filter_blocks_entries(pair) -> None:
    strict = Pairs({"window": W, "max_pvalue": 0.01})
    expected, *_ = hand(pair, {"max_pvalue": 0.01})
    got = strict.target_weights(pair)[["Y", "X"]].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert np.abs(got).sum() < np.abs(Pairs({"window": W}).target_weights(pair)[["Y", "X"]].to_numpy()).sum()


def test_pairs_passes_the_lookahead_audit(pair) -> None:
    report = audit_lookahead(Pairs({"window": W, "neutral": "beta"}), pair, n_checks=30, min_bars=20)
    assert report.passed, report.summary()


def test_pairs_needs_two_symbols_and_sane_thresholds(pair) -> None:
    with pytest.raises(StrategyError, match="pairs needs at least 2 symbols"):
        Pairs().target_weights(pair.select(["Y"]))
    with pytest.raises(ConfigError, match="need entry_z > exit_z >= 0, got 1.0, 1.5"):
        Pairs({"entry_z": 1.0, "exit_z": 1.5})


def test_plot_series_draws_the_hand_z_score_on_both_legs(pair) -> None:
    _, _, z = hand(pair, {})
    lines = Pairs({"window": W}).plot_series(pair)
    assert list(lines) == ["spread z-score", "entry +-2", "exit +-0.5"]
    line = lines["spread z-score"]
    assert line.panel == "z-score" and line.values["Z"].isna().all()
    for leg in ("Y", "X"):
        np.testing.assert_allclose(line.values[leg].to_numpy(), z, rtol=1e-7, atol=1e-9, equal_nan=True)
    assert (lines["entry +-2"].values["Y"] == 2.0).all()

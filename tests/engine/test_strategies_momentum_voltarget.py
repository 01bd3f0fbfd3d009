"""momentum_voltarget on a small synthetic universe, worked out by hand: trailing returns with a skip, the top
N, the basket's realized volatility with numpy and the leverage cap; plus the look-ahead audit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.research.audit import audit_lookahead
from engine.strategies.momentum_voltarget import MomentumVolTarget
from tests.engine.regime_helpers import market_of
from tests.engine.test_strategies_common import market

PARAMS = {"lookback": 20, "skip": 5, "top_n": 2, "target_vol": 0.10, "vol_lookback": 15, "max_leverage": 1.2}


@pytest.fixture(scope="module")
def universe():
    rng = np.random.default_rng(11)
    drift = {"A": 0.002, "B": 0.0, "C": -0.001}
    vol = {"A": 0.01, "B": 0.004, "C": 0.02}
    return market_of({s: 100 * np.cumprod(1 + rng.normal(drift[s], vol[s], 160)) for s in "ABC"})


def test_weights_equal_the_hand_calculation(universe) -> None:
    c = universe.close.to_numpy()
    r = np.vstack([np.full(3, np.nan), c[1:] / c[:-1] - 1.0])
    idx = universe.index
    expected = np.zeros_like(c)
    current = np.zeros(3)
    scales = []
    for t in range(len(c)):
        if t > 0 and idx[t].month != idx[t - 1].month and t - 25 >= 0:
            mom = c[t - 5] / c[t - 25] - 1.0
            top = np.argsort(-mom, kind="stable")[:2]
            picks = np.zeros(3)
            picks[top] = 0.5
            basket = r[t - 14 : t + 1] @ picks
            realized = np.std(basket, ddof=1) * math.sqrt(252)
            scale = min(0.10 / realized, 1.2)
            scales.append(scale)
            current = picks * scale
        expected[t] = current
    got = MomentumVolTarget(PARAMS).target_weights(universe).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)
    assert len(scales) >= 5 and min(scales) < 1.2 and max(scales) == 1.2  # both the target and the cap bind


def test_voltarget_passes_the_lookahead_audit() -> None:
    data = market("SPY", "TLT", "GLD", "BTC-USD").slice("2012-01-01", "2017-12-31")
    report = audit_lookahead(MomentumVolTarget(), data, n_checks=30)
    assert report.passed, report.summary()


def test_plot_series_is_the_trailing_return_ranked(universe) -> None:
    c = universe.close.to_numpy()
    ((label, line),) = MomentumVolTarget(PARAMS).plot_series(universe).items()
    assert label == "return 20 bars" and line.panel == "momentum"
    t = 100
    np.testing.assert_allclose(line.values.iloc[t].to_numpy(), c[t - 5] / c[t - 25] - 1.0, rtol=1e-10)
    assert line.values.iloc[24].isna().all()

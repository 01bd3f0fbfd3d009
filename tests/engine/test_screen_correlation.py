"""The watchlist correlation: pandas' correlation of daily returns over the lookback, rows and columns in the
leaf order scipy's average linkage on 1 - corr gives when called directly."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from engine.data import load_market_data
from engine.research.screen_correlation import clustered_correlation

SYMBOLS = ["SPY", "TLT", "QQQ", "GLD", "XLK", "UUP", "IWM"]


def test_order_and_values_equal_scipy_called_directly() -> None:
    data = load_market_data(SYMBOLS, "2015-01-01", "2019-12-31")
    result = clustered_correlation(data, lookback=252)
    returns = data.close.pct_change(fill_method=None).iloc[-252:]
    corr = returns.corr().to_numpy()
    dist = 1.0 - corr
    np.fill_diagonal(dist, 0.0)
    expected = [SYMBOLS[i] for i in leaves_list(linkage(squareform(dist, checks=False), method="average"))]
    assert result.order == expected
    want = returns.corr().loc[expected, expected].to_numpy()
    np.testing.assert_allclose(result.corr.to_numpy(), want, rtol=1e-12)
    # the equity trio sits together, apart from bonds and the dollar
    pos = {s: i for i, s in enumerate(result.order)}
    assert max(pos[s] for s in ("SPY", "QQQ", "XLK", "IWM")) - min(pos[s] for s in ("SPY", "QQQ", "XLK", "IWM")) == 3

"""rsi_reversion and bollinger_rsi: RSI checked against a Wilder loop, thresholds against ta.rsi values read
back, Bollinger bands against numpy mean/std over each window."""

from __future__ import annotations

import numpy as np
import pandas_ta as ta
import pytest

from engine.errors import ConfigError
from engine.strategies.mean_reversion import BollingerRsi, RsiReversion
from tests.engine.test_strategies_common import market, read_csv


def ref_rsi(c: np.ndarray, n: int) -> np.ndarray:
    """Wilder RSI: gains/losses smoothed with alpha = 1/n starting at the first change."""
    out = np.full(len(c), np.nan)
    up = dn = None
    for t in range(1, len(c)):
        d = c[t] - c[t - 1]
        g, lo = max(d, 0.0), max(-d, 0.0)
        if up is None:
            up, dn = g, lo
        else:
            up += (g - up) / n
            dn += (lo - dn) / n
        out[t] = 100.0 * up / (up + dn) if up + dn > 0 else np.nan
    return out


def rsi_read_back(close, n: int) -> np.ndarray:
    r = ta.rsi(close, length=n, talib=False).to_numpy().copy()
    r[:n] = np.nan  # the strategy counts RSI as defined from bar n
    return r


@pytest.mark.parametrize("symbol", ["SPY", "KO"])
def test_pandas_ta_rsi_is_wilder(symbol: str) -> None:
    c = read_csv(symbol)["close"]
    ours = ta.rsi(c, length=14, talib=False).to_numpy()
    np.testing.assert_allclose(ours[1:], ref_rsi(c.to_numpy(), 14)[1:], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("symbol", "length", "lower", "exit_level"), [("SPY", 14, 30, 50), ("KO", 2, 10, 70), ("BTC-USD", 14, 35, 55)]
)
def test_rsi_reversion_matches_loop(symbol: str, length: int, lower: float, exit_level: float) -> None:
    close = read_csv(symbol)["close"]
    r = rsi_read_back(close, length)
    expected = np.zeros(len(r))
    cur = 0.0
    for t in range(len(r)):
        if cur == 0.0 and r[t] < lower:
            cur = 1.0
        elif cur == 1.0 and r[t] > exit_level:
            cur = 0.0
        expected[t] = cur
    strat = RsiReversion({"length": length, "lower": lower, "exit_level": exit_level})
    got = strat.target_weights(market(symbol))[symbol].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert got.any() and not got[:length].any()
    # every entry bar really has RSI below `lower`, every exit bar RSI above `exit_level`
    entries = np.flatnonzero(np.diff(got) > 0) + 1
    exits = np.flatnonzero(np.diff(got) < 0) + 1
    assert (r[entries] < lower).all() and (r[exits] > exit_level).all()


@pytest.mark.parametrize(("symbol", "bb_std"), [("SPY", 2.0), ("XLU", 1.5)])
def test_bollinger_rsi_matches_loop(symbol: str, bb_std: float) -> None:
    close = read_csv(symbol)["close"]
    c = close.to_numpy()
    n = 20
    r = rsi_read_back(close, 14)
    expected = np.zeros(len(c))
    cur = 0.0
    for t in range(len(c)):
        if t >= n - 1:
            window = c[t - n + 1 : t + 1]
            mid = window.mean()
            lower = mid - bb_std * window.std(ddof=1)
            if cur == 0.0 and c[t] < lower and r[t] < 30:
                cur = 1.0
            elif cur == 1.0 and c[t] > mid:
                cur = 0.0
        expected[t] = cur
    got = BollingerRsi({"bb_std": bb_std}).target_weights(market(symbol))[symbol].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert got.any()


def test_mean_reversion_params_validation() -> None:
    with pytest.raises(ConfigError, match=r"lower \(60.0\) must be below exit_level \(50.0\)"):
        RsiReversion({"lower": 60})
    with pytest.raises(ConfigError, match="bb_std must be > 0, got 0.0"):
        BollingerRsi({"bb_std": 0})

"""ema_trend (with ATR stops), macd and donchian_breakout against explicit loops on real bundled data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.strategies.breakout import DonchianBreakout
from engine.strategies.trend import EmaTrend, Macd
from tests.engine.test_strategies_common import market, own_to_union, read_csv
from tests.engine.test_strategies_crossover import ref_ema


def ref_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    """Wilder ATR: TR[0] = high - low; seed = mean of the first n TRs; then ATR += (TR - ATR) / n."""
    tr = np.empty(len(c))
    tr[0] = h[0] - lo[0]
    for t in range(1, len(c)):
        tr[t] = max(h[t] - lo[t], abs(h[t] - c[t - 1]), abs(lo[t] - c[t - 1]))
    atr = np.full(len(c), np.nan)
    atr[n - 1] = sum(tr[:n]) / n
    for t in range(n, len(c)):
        atr[t] = atr[t - 1] + (tr[t] - atr[t - 1]) / n
    return atr


@pytest.mark.parametrize("symbol", ["SPY", "XLK", "BTC-USD"])
def test_ema_trend_weights_and_stops_match_loop(symbol: str) -> None:
    bars = read_csv(symbol)
    h, lo, c = (bars[f].to_numpy() for f in ("high", "low", "close"))
    length, slope, n_atr = 50, 5, 14
    ema = ref_ema(c, length)
    atr = ref_atr(h, lo, c, n_atr)
    expected = np.zeros(len(c))
    for t in range(len(c)):
        if t - slope >= 0 and not np.isnan(ema[t - slope]) and not np.isnan(atr[t]):
            expected[t] = 1.0 if (c[t] > ema[t] and ema[t] > ema[t - slope]) else 0.0
    strat = EmaTrend()
    data = market(symbol)
    got = strat.target_weights(data)[symbol].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert not got[: length - 1 + slope].any()

    stops = strat.stop_fractions(data)
    assert set(stops) == {"stop_loss", "take_profit", "trailing_stop"}
    for key, mult in (("stop_loss", 2.0), ("take_profit", 4.0), ("trailing_stop", 3.0)):
        ref = mult * atr / c
        if key != "take_profit":
            ref = np.minimum(ref, 1.0)
        np.testing.assert_allclose(stops[key][symbol].to_numpy(), ref, rtol=1e-9, equal_nan=True)


def test_ema_trend_stop_switches_and_gaps() -> None:
    strat = EmaTrend({"sl_atr": 0, "tp_atr": 0, "trail_atr": 2.5})
    data = market("SPY", "ETH-USD")
    stops = strat.stop_fractions(data)
    assert list(stops) == ["trailing_stop"]
    eth = read_csv("ETH-USD")
    atr = ref_atr(eth["high"].to_numpy(), eth["low"].to_numpy(), eth["close"].to_numpy(), 14)
    frac = pd.Series(2.5 * atr / eth["close"].to_numpy(), index=eth.index)
    got = stops["trailing_stop"]["ETH-USD"]
    on_eth = got.reindex(eth.index)
    np.testing.assert_allclose(on_eth.to_numpy(), frac.to_numpy(), rtol=1e-9, equal_nan=True)
    assert got.loc[: eth.index[0] - pd.Timedelta(days=1)].isna().all()
    assert EmaTrend({"sl_atr": 0, "tp_atr": 0, "trail_atr": 0}).stop_fractions(data) is None
    w = strat.target_weights(data)
    assert (w.abs().sum(axis=1) <= 1.0 + 1e-12).all() and set(np.unique(w.to_numpy())) <= {0.0, 0.5}


@pytest.mark.parametrize(("symbol", "allow_short"), [("SPY", False), ("TLT", True)])
def test_macd_matches_loop(symbol: str, allow_short: bool) -> None:
    c = read_csv(symbol)["close"].to_numpy()
    macd = ref_ema(c, 12) - ref_ema(c, 26)
    first = 25
    signal = np.full(len(c), np.nan)
    signal[first:] = ref_ema(macd[first:], 9)
    expected = np.zeros(len(c))
    for t in range(len(c)):
        if not np.isnan(signal[t]):
            expected[t] = 1.0 if macd[t] > signal[t] else (-1.0 if allow_short and macd[t] < signal[t] else 0.0)
    got = Macd({"allow_short": allow_short}).target_weights(market(symbol))[symbol].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert not got[:33].any() and got[33:].any()


def ref_donchian(h: np.ndarray, lo: np.ndarray, c: np.ndarray, entry: int, exit_: int, allow_short: bool) -> np.ndarray:
    pos = np.zeros(len(c))
    cur = 0.0
    for t in range(len(c)):
        hi_in = max(h[t - entry : t]) if t >= entry else np.nan
        lo_out = min(lo[t - exit_ : t]) if t >= exit_ else np.nan
        lo_in = min(lo[t - entry : t]) if t >= entry else np.nan
        hi_out = max(h[t - exit_ : t]) if t >= exit_ else np.nan
        if cur == 1.0 and c[t] < lo_out:
            cur = 0.0
        elif cur == -1.0 and c[t] > hi_out:
            cur = 0.0
        if c[t] > hi_in:
            cur = 1.0
        elif allow_short and c[t] < lo_in:
            cur = -1.0
        pos[t] = cur
    return pos


@pytest.mark.parametrize(
    ("symbol", "system", "allow_short"), [("SPY", 20, False), ("GLD", 55, False), ("XOM", 20, True)]
)
def test_donchian_matches_loop(symbol: str, system: int, allow_short: bool) -> None:
    bars = read_csv(symbol)
    h, lo, c = (bars[f].to_numpy() for f in ("high", "low", "close"))
    entry, exit_ = {20: (20, 10), 55: (55, 20)}[system]
    expected = ref_donchian(h, lo, c, entry, exit_, allow_short)
    got = DonchianBreakout({"system": system, "allow_short": allow_short}).target_weights(market(symbol))[symbol]
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert not got.iloc[:entry].any()


def test_donchian_multi_symbol_with_gaps() -> None:
    data = market("SPY", "BTC-USD", "TLT")
    w = DonchianBreakout().target_weights(data)
    for sym in data.symbols:
        own = read_csv(sym)
        single = ref_donchian(*(own[f].to_numpy() for f in ("high", "low", "close")), 20, 10, False) / 3
        np.testing.assert_array_equal(w[sym].to_numpy(), own_to_union(pd.Series(single, index=own.index), data.index))


def test_trend_params_validation() -> None:
    with pytest.raises(ConfigError, match=r"fast \(26\) must be shorter than slow \(12\)"):
        Macd({"fast": 26, "slow": 12})
    with pytest.raises(ConfigError, match=r"system must be one of \[20, 55\], got 30"):
        DonchianBreakout({"system": 30})
    # stop distances are bounded by their parameters' hard limits: each range widened 10x
    # (sl_atr [0, 5] -> [0, 50], trail_atr [0, 6] -> [0, 60])
    with pytest.raises(ConfigError, match=r"parameter 'sl_atr': -1 is out of range; .* in \[0, 50\]"):
        EmaTrend({"sl_atr": -1})
    with pytest.raises(ConfigError, match=r"parameter 'trail_atr': 61 is out of range; .* in \[0, 60\]"):
        EmaTrend({"trail_atr": 61})

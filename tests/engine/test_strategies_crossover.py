"""sma_cross / ema_cross against explicit loops (own moving averages, own state machine) on real data,
and the WORKLOADS.md W1/W2 reference numbers through a plain all-in simulation loop written here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_ta as ta
import pytest

from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.strategies.crossover import EmaCross, SmaCross
from tests.engine.test_strategies_common import market, own_to_union, read_csv


def ref_sma(c: np.ndarray, w: int) -> np.ndarray:
    out = np.full(len(c), np.nan)
    for i in range(w - 1, len(c)):
        out[i] = sum(c[i - w + 1 : i + 1]) / w
    return out


def ref_ema(c: np.ndarray, n: int) -> np.ndarray:
    """EMA seeded with the mean of the first n closes (TA-Lib convention), alpha = 2 / (n + 1)."""
    out = np.full(len(c), np.nan)
    if len(c) < n:
        return out
    alpha = 2.0 / (n + 1)
    out[n - 1] = sum(c[:n]) / n
    for i in range(n, len(c)):
        out[i] = alpha * c[i] + (1 - alpha) * out[i - 1]
    return out


def ref_cross_positions(fast: np.ndarray, slow: np.ndarray, allow_short: bool = False) -> np.ndarray:
    """WORKLOADS.md common rules 2-4 as a bar-by-bar loop."""
    pos = np.zeros(len(fast))
    last_nonzero = 0
    current = 0.0
    for t in range(len(fast)):
        if np.isnan(fast[t]) or np.isnan(slow[t]) or abs(fast[t] - slow[t]) <= 1e-9 * abs(slow[t]):
            state = 0
        else:
            state = 1 if fast[t] > slow[t] else -1
        if state == 1 and last_nonzero == -1:
            current = 1.0
        elif state == -1 and last_nonzero == 1:
            current = -1.0 if allow_short else 0.0
        if state != 0:
            last_nonzero = state
        pos[t] = current
    return pos


def simulate_all_in(w: np.ndarray, o: np.ndarray, c: np.ndarray, fee: float) -> tuple[float, int]:
    """WORKLOADS.md rules 4-6: weight decided at t, filled at open t+1, all-in fractional, fee per side."""
    cash, q, trades = 100_000.0, 0.0, 0
    equity = cash
    for t in range(len(c)):
        if t > 0:
            if w[t - 1] > 0 and q == 0:
                q = cash / (o[t] * (1 + fee))
                cash = 0.0
                trades += 1
            elif w[t - 1] == 0 and q > 0:
                cash = q * o[t] * (1 - fee)
                q = 0.0
        equity = cash + q * c[t]
    return equity, trades


@pytest.mark.parametrize("talib", [False, True])  # sma_cross asks pandas-ta for TA-Lib's kernel
@pytest.mark.parametrize("window", [2, 10, 50, 200])
def test_pandas_ta_sma_is_the_arithmetic_mean(window: int, talib: bool) -> None:
    c = read_csv("SPY")["close"]
    ours = ta.sma(c, length=window, talib=talib).to_numpy()
    ref = ref_sma(c.to_numpy(), window)
    assert np.isnan(ours[: window - 1]).all()
    rel = np.abs(ours[window - 1 :] - ref[window - 1 :]) / np.abs(ref[window - 1 :])
    assert rel.max() < 1e-12


@pytest.mark.parametrize(
    ("symbol", "fast", "slow"), [("SPY", 10, 50), ("SPY", 45, 200), ("QQQ", 5, 20), ("BTC-USD", 20, 100)]
)
def test_sma_cross_matches_reference_loop(symbol: str, fast: int, slow: int) -> None:
    bars = read_csv(symbol)
    c = bars["close"].to_numpy()
    expected = ref_cross_positions(ref_sma(c, fast), ref_sma(c, slow))
    got = SmaCross({"fast": fast, "slow": slow}).target_weights(market(symbol))[symbol].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert not got[:slow].any()  # first possible signal at t = slow
    assert set(np.unique(got)) <= {0.0, 1.0}


@pytest.mark.parametrize(("fee", "final", "trades"), [(0.0, 839_252.60, 104), (0.001, 682_329.15, 104)])
def test_sma_cross_reproduces_w1_w2_reference(fee: float, final: float, trades: int) -> None:
    bars = read_csv("SPY")
    w = SmaCross().target_weights(market("SPY"))["SPY"].to_numpy()
    equity, n = simulate_all_in(w, bars["open"].to_numpy(), bars["close"].to_numpy(), fee)
    assert n == trades
    assert equity == pytest.approx(final, abs=0.01)


def test_sma_cross_allow_short_and_weight() -> None:
    bars = read_csv("XLE")
    c = bars["close"].to_numpy()
    expected = ref_cross_positions(ref_sma(c, 20), ref_sma(c, 60), allow_short=True) * 0.5
    got = SmaCross({"fast": 20, "slow": 60, "allow_short": True, "weight": 0.5}).target_weights(market("XLE"))
    np.testing.assert_array_equal(got["XLE"].to_numpy(), expected)
    assert (got["XLE"] < 0).any() and (got["XLE"] > 0).any()


def test_rising_market_after_warm_up_is_not_an_entry() -> None:
    idx = pd.bdate_range("2020-01-01", periods=80)
    close = np.linspace(100.0, 180.0, 80)  # fast > slow from the first defined bar on: never a cross-up
    frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=idx)
    w = SmaCross({"fast": 3, "slow": 10}).target_weights(MarketData.from_frames({"X": frame}))
    assert (w["X"] == 0).all()


def test_multi_symbol_own_calendars_and_split_weight() -> None:
    data = market("SPY", "BTC-USD")
    w = SmaCross().target_weights(data)
    for sym in ("SPY", "BTC-USD"):
        own = read_csv(sym)
        c = own["close"].to_numpy()
        single = pd.Series(ref_cross_positions(ref_sma(c, 10), ref_sma(c, 50)) / 2, index=own.index)
        np.testing.assert_array_equal(w[sym].to_numpy(), own_to_union(single, data.index))
    assert (w.loc[:"2014-09-16", "BTC-USD"] == 0).all()
    assert w.columns.tolist() == ["SPY", "BTC-USD"] and w.index.equals(data.index)


@pytest.mark.parametrize(("symbol", "fast", "slow"), [("SPY", 12, 26), ("GLD", 10, 50), ("ETH-USD", 8, 30)])
def test_ema_cross_matches_reference_loop(symbol: str, fast: int, slow: int) -> None:
    c = read_csv(symbol)["close"].to_numpy()
    expected = ref_cross_positions(ref_ema(c, fast), ref_ema(c, slow))
    got = EmaCross({"fast": fast, "slow": slow}).target_weights(market(symbol))[symbol].to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert got.sum() > 0


def test_short_history_is_flat_not_an_error() -> None:
    data = market("SPY").head(30)  # shorter than the slow window: pandas-ta returns None
    assert (SmaCross().target_weights(data)["SPY"] == 0).all()
    assert (EmaCross().target_weights(data)["SPY"] == 0).all()


def test_params_validation_messages() -> None:
    with pytest.raises(ConfigError, match=r"fast \(50\) must be shorter than slow \(50\)"):
        SmaCross({"fast": 50, "slow": 50})
    with pytest.raises(ConfigError, match=r"fast \(30\) must be shorter than slow \(20\)"):
        EmaCross({"fast": 30, "slow": 20})
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['fsat'\]"):
        SmaCross({"fsat": 5})
    with pytest.raises(ConfigError, match="'fast': 'ten' is not a valid int"):
        SmaCross({"fast": "ten"})
    with pytest.raises(ConfigError, match="weight must be in"):
        SmaCross({"weight": 0})
    assert SmaCross({"fast": "5", "slow": "20", "allow_short": "true"}).params == SmaCross.Params(5, 20, 1.0, True)


@pytest.mark.parametrize("window", [2, 10, 50, 200])
def test_sma_average_on_arrays_is_pandas_ta_talib_call(window: int) -> None:
    """The array path (TA-Lib's SMA straight on numpy) returns what pandas-ta's talib=True call returns."""
    c = read_csv("SPY")["close"]
    via_pandas_ta = ta.sma(c.reset_index(drop=True), length=window, talib=True).to_numpy()
    np.testing.assert_array_equal(SmaCross.average(np.ascontiguousarray(c.to_numpy()), window), via_pandas_ta)
    short = np.ascontiguousarray(c.to_numpy()[: window - 1])  # pandas-ta returns None: all NaN
    assert ta.sma(pd.Series(short), length=window, talib=True) is None
    assert np.isnan(SmaCross.average(short, window)).all() and len(SmaCross.average(short, window)) == len(short)


def test_weight_values_equal_target_weights() -> None:
    data = market("SPY", "BTC-USD")  # union calendar: NaN gaps on both sides
    for strategy in (SmaCross({"fast": 10, "slow": 50}), EmaCross({"fast": 12, "slow": 26, "allow_short": True})):
        np.testing.assert_array_equal(strategy.weight_values(data), strategy.target_weights(data).to_numpy())


def test_a_subclass_with_its_own_target_weights_is_traded_on_them() -> None:
    """weight_values / grid_weights are the parent's fast path only: a subclass deciding its own weights
    (here: never in the market) must not be simulated on the parent's crossovers."""
    from engine.sim.grid import run_grid
    from engine.sim.simulate import run_backtest

    class Flat(SmaCross):
        name = "flat_cross_test"

        def target_weights(self, data: MarketData) -> pd.DataFrame:
            return super().target_weights(data) * 0.0

    data = market("SPY")
    assert Flat().weight_values(data) is None and Flat.grid_weights(data, [Flat().params]) is None
    assert run_backtest(data, Flat()).metrics["n_trades"] == 0
    assert run_backtest(data, SmaCross()).metrics["n_trades"] == 104
    grid = run_grid(data, Flat, [{"fast": 10, "slow": 50}, {"fast": 20, "slow": 100}])
    assert (grid.metrics["n_trades"] == 0).all()

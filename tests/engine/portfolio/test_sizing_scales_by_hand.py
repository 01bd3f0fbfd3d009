"""The sizing overlay's scales equal hand calculations on small series (vol target, fixed fraction, Kelly,
ATR), and the weights a backtest trades are the sized ones."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.errors import ConfigError
from engine.sim.simulate import run_backtest
from engine.sim.sized_strategy import SizedStrategy
from engine.strategies.common import ta  # pandas-ta, imported with its import-time deprecations silenced
from tests.engine.portfolio.sizing_helpers import Fixed, bars

A = [100, 101, 99.5, 102, 101, 103, 104, 102.5, 103, 105, 104, 106]
B = [50, 50.5, 50.2, 49.8, 50.6, 51, 50.7, 51.2, 51.5, 51.1, 51.8, 52]


def sized(strategy: Fixed, data, **config) -> np.ndarray:
    return SizedStrategy(strategy, BacktestConfig.from_dict(config)).target_weights(data).to_numpy()


def test_vol_target_scale_is_target_over_the_windows_portfolio_vol() -> None:
    data = bars({"A": A, "B": B})
    raw = np.zeros((12, 2))
    raw[6:] = [0.5, 0.5]
    out = sized(
        Fixed(raw), data, sizing={"method": "vol_target", "target_vol": 0.1, "lookback": 4, "max_leverage": 10.0}
    )
    returns = [(0.5 * (A[s] / A[s - 1] - 1) + 0.5 * (B[s] / B[s - 1] - 1)) for s in range(3, 7)]  # bars 3..6
    scale = 0.1 / (statistics.stdev(returns) * math.sqrt(252))
    assert np.allclose(out[:6], 0.0)
    assert np.allclose(out[6:], 0.5 * scale)  # decided at bar 6 (the entry) and held: on_change rebalancing
    capped = sized(Fixed(raw), data, sizing={"method": "vol_target", "target_vol": 0.1, "lookback": 4})
    assert scale > 1 and np.allclose(np.abs(capped[6:]).sum(axis=1), 1.0)  # max_leverage 1 caps the gross


def test_vol_target_waits_for_a_full_window() -> None:
    data = bars({"A": A, "B": B})
    raw = np.full((12, 2), 0.5)
    out = sized(
        Fixed(raw), data, rebalance="daily", sizing={"method": "vol_target", "lookback": 4, "max_leverage": 10.0}
    )
    assert np.allclose(out[:4], 0.0) and (out[4:] > 0).all()  # returns start at bar 1: 4 of them by bar 4


def test_fixed_fraction_is_risk_over_stop_with_the_raw_side() -> None:
    data = bars({"A": A, "B": B})
    raw = np.tile([1.0, -0.5], (12, 1))
    out = sized(Fixed(raw), data, risk={"stop_loss": 0.05, "max_leverage": 2.0}, sizing={"method": "fixed_fraction"})
    assert np.allclose(out, [0.01 / 0.05, -0.01 / 0.05])  # the risk rules' default risk_per_trade, 1 %
    with pytest.raises(ConfigError, match="needs a stop distance"):
        sized(Fixed(raw), data, sizing={"method": "fixed_fraction"})


def test_kelly_from_trades_closed_before_the_entry() -> None:
    closes = [100, 105, 110, 110, 108, 104.5, 100, 105, 110, 110, 111, 112]
    data = bars({"A": closes})
    raw = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1], dtype="float64")[:, None]
    out = sized(Fixed(raw), data, sizing={"method": "kelly", "min_trades": 3, "kelly_fraction": 0.5})
    # trades: +10 % (bars 0-2), -5 % (3-5), +10 % (6-8): W = 2/3, R = 0.10 / 0.05 = 2, f = 2/3 - (1/3) / 2
    f = 2 / 3 - (1 / 3) / 2
    assert np.allclose(out[:9, 0], 0.0)  # fewer than 3 trades closed when each earlier entry was sized
    assert np.allclose(out[9:, 0], 0.5 * f)


def test_atr_size_is_risk_over_multiple_atrs_from_pandas_ta() -> None:
    data = bars({"A": A}, spread=0.02)
    raw = np.zeros((12, 1))
    raw[5:] = 1.0
    out = sized(Fixed(raw), data, sizing={"method": "atr", "atr_length": 3, "atr_multiple": 2.0, "max_leverage": 10.0})
    atr = ta.atr(data.high["A"], data.low["A"], data.close["A"], length=3, talib=False)
    expected = 0.01 / (2.0 * atr.iloc[5] / A[5])
    assert np.allclose(out[:5, 0], 0.0) and np.allclose(out[5:, 0], expected)


def test_backtest_trades_the_sized_weights_and_none_is_unchanged() -> None:
    data = bars({"A": A, "B": B})
    raw = np.tile([1.0, -0.5], (12, 1))
    config = BacktestConfig.from_dict({"risk": {"stop_loss": 0.5, "max_leverage": 2.0}})
    plain = run_backtest(data, Fixed(raw), config)
    assert np.allclose(plain.weights.iloc[0], [1.0, -0.5])
    sized_config = BacktestConfig.from_dict({**config.to_dict(), "sizing": {"method": "fixed_fraction"}})
    result = run_backtest(data, Fixed(raw), sized_config)
    assert np.allclose(result.weights.iloc[0], [0.02, -0.02])
    assert isinstance(result.weights, pd.DataFrame)


def test_sizing_settings_are_validated_once_on_the_config() -> None:
    with pytest.raises(ConfigError, match=r"config\.sizing\.target_vol: -0\.1 must be > 0"):
        BacktestConfig.from_dict({"sizing": {"method": "vol_target", "target_vol": -0.1}})
    with pytest.raises(ConfigError, match="sizing.method"):
        BacktestConfig.from_dict({"sizing": {"method": "martingale"}})

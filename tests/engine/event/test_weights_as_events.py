"""Any weights strategy in event mode (engine.strategies.weights_as_events) trades the vectorized run's trades:
its targets become percent orders and its stops resting stop / trailing / limit orders in the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.sim.event.context import Context
from engine.sim.event.run import run_event_backtest
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy
from engine.strategies.weights_as_events import WeightsAsEvents
from tests.engine.event.test_equivalence import assert_same_run

CASES = [
    (["SPY"], "sma_cross", {}),
    (["SPY"], "ema_trend", {"costs": {"commission_bps": 5.0}}),
    (["SPY", "QQQ", "IWM", "TLT", "GLD"], "momentum_rotation", {"costs": {"commission_bps": 5.0}}),
    (["AAPL"], "rsi_reversion", {"risk": {"stop_loss": 0.05, "take_profit": 0.1, "trailing_stop": 0.08}}),
    (["SPY", "TLT", "GLD"], "macd", {"risk": {"max_leverage": 0.5}}),  # three targets of 1/3 scaled to 0.5 gross
]


@pytest.mark.parametrize(("symbols", "name", "config"), CASES, ids=[c[1] for c in CASES])
def test_a_weights_strategy_in_event_mode_equals_its_vectorized_run(
    home: Path, symbols: list[str], name: str, config: dict[str, Any]
) -> None:
    data, cfg, strategy = load_market_data(symbols), BacktestConfig(**config), create_strategy(name)
    event = run_event_backtest(data, WeightsAsEvents(strategy, cfg), cfg)
    assert event.strategy == name and event.params == strategy.params_dict()
    assert_same_run(run_backtest(data, strategy, cfg), event)


def test_scheduled_rebalancing_is_refused_in_event_mode() -> None:
    with pytest.raises(ConfigError, match="rebalance='monthly'"):
        WeightsAsEvents(create_strategy("inverse_vol"), BacktestConfig(rebalance="monthly"))


def test_refresh_recomputes_declared_indicators_on_longer_data(home: Path) -> None:
    full = load_market_data(["SPY"])
    short = load_market_data(["SPY"], end=str(full.index[99].date()))
    ctx = Context(broker=None, data=short, tag="t")  # type: ignore[arg-type]  # no orders in this test
    mean = ctx.indicator(lambda bars: bars["close"].rolling(5).mean(), name="sma5")
    ctx.refresh(full)
    ctx.i = len(full) - 1
    expected = pd.Series(full.close["SPY"]).rolling(5).mean().to_numpy()
    assert mean[0] == pytest.approx(expected[-1], rel=1e-12)
    assert mean[-150] == pytest.approx(expected[-151], rel=1e-12)
    np.testing.assert_allclose(mean.window(3), expected[-3:], rtol=1e-12)

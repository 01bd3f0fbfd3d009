"""Grid runs equal single backtests exactly, whatever the strategy's weight path (fast grid or per set)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import BacktestConfig, Costs, Risk
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.sim.grid import expand_grid, run_grid
from engine.sim.simulate import run_backtest
from engine.strategies.registry import get_strategy


@pytest.fixture(scope="module")
def spy():
    return load_market_data(["SPY"], start="2005-01-01")


def assert_equal_to_single_runs(data, name, sets, config):
    cls = get_strategy(name)
    grid = run_grid(data, cls, sets, config, workers=2)
    assert grid.equity.shape == (len(data), len(sets))
    for k, params in enumerate(sets):
        single = run_backtest(data, cls(params), config)
        np.testing.assert_array_equal(grid.equity[k].to_numpy(), single.equity.to_numpy())
        for key in ("total_return", "sharpe", "max_drawdown", "n_trades", "win_rate", "exposure", "turnover"):
            a, b = grid.metrics.loc[k, key], single.metrics[key]
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15), key
    return grid


def test_sma_grid_equals_single_backtests(spy):
    sets = expand_grid({"fast": [5, 10, 20], "slow": [20, 50, 100]}, strategy_cls=get_strategy("sma_cross"))
    assert len(sets) == 8  # (20, 20) is rejected by the Params (fast must be < slow)
    cfg = BacktestConfig(costs=Costs(commission_bps=5, slippage_bps=2))
    grid = assert_equal_to_single_runs(spy, "sma_cross", sets, cfg)
    assert list(grid.params.columns[:2]) == ["fast", "slow"]


def test_grid_of_a_multi_symbol_strategy_with_stops():
    data = load_market_data(["SPY", "TLT", "GLD"], start="2010-01-01")
    sets = [{"length": 20}, {"length": 50, "sl_atr": 1.5}]
    assert_equal_to_single_runs(data, "ema_trend", sets, BacktestConfig(costs=Costs(commission_bps=2)))
    rot = [{"lookback": 63, "top_n": 1}, {"lookback": 126, "top_n": 2}]
    assert_equal_to_single_runs(data, "momentum_rotation", rot, BacktestConfig(risk=Risk(stop_loss=0.1)))


def test_grid_reports_progress_and_can_be_cancelled(spy):
    sets = expand_grid({"fast": [5, 10], "slow": [50, 100, 200]})
    seen = []
    run_grid(spy, get_strategy("sma_cross"), sets, progress=lambda d, n: seen.append((d, n)), workers=1)
    assert seen[-1] == (6, 6)
    with pytest.raises(ConfigError, match="cancelled"):
        run_grid(spy, get_strategy("sma_cross"), sets, should_stop=lambda: True, workers=1)
    with pytest.raises(ConfigError, match="no valid parameter set"):
        expand_grid({"fast": [50], "slow": [10]}, strategy_cls=get_strategy("sma_cross"))

"""Fill sensitivity and the break-even commission, checked against individual run_backtest calls."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest

from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.request import BacktestRequest
from engine.research.sensitivity import breakeven_commission, fill_sensitivity
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

pytestmark = pytest.mark.usefixtures("home")


def single(request: BacktestRequest, **config_changes) -> dict:
    data = load_market_data(list(request.symbols), request.start, request.end)
    strategy = create_strategy(request.strategy, request.params)
    return run_backtest(data, strategy, replace(request.config, **config_changes)).metrics


def test_fill_sensitivity_rows_equal_single_backtests_and_same_close_is_optimistic():
    request = BacktestRequest(strategy="macd", symbols=("GLD",), config=BacktestConfig(costs=Costs(commission_bps=2)))
    table = fill_sensitivity(request)
    assert list(table.index) == ["same_close", "next_open", "next_close"]
    assert "optimistic" in table.loc["same_close", "label"] and not table.loc["same_close", "tradable"]
    for fill in table.index:
        metrics = single(request, fill=fill)
        for key in ("total_return", "sharpe", "max_drawdown", "n_trades"):
            assert table.loc[fill, key] == pytest.approx(metrics[key], rel=1e-12), (fill, key)
    # a trend strategy: filling at the signal bar's own close beats waiting for the next open
    assert table.loc["same_close", "total_return"] >= table.loc["next_open", "total_return"]
    assert table.loc["same_close", "sharpe"] >= table.loc["next_open", "sharpe"]


def test_breakeven_commission_zeroes_the_total_return():
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2005-01-01",
        config=BacktestConfig(costs=Costs(slippage_bps=1)),
    )
    single(request)  # data cached, kernels compiled
    t0 = time.perf_counter()
    bps = breakeven_commission(request)
    assert time.perf_counter() - t0 < 4.0  # ~0.3 s on the dev box
    assert 0 < bps < 1000

    def total_return(c: float) -> float:
        return single(request, costs=Costs(commission_bps=c, slippage_bps=1))["total_return"]

    assert abs(total_return(bps)) < 2e-3  # ~0 at the break-even (bisection to 0.01 bps)
    assert total_return(bps - 0.5) > 0 > total_return(bps + 0.5)


def test_breakeven_edge_cases():
    hold = BacktestRequest(strategy="buy_and_hold", symbols=("SPY",))
    assert breakeven_commission(hold) == math.inf  # one trade: even 1000 bps leaves a gain
    losing = BacktestRequest(
        strategy="sma_cross", params={"fast": 10, "slow": 50}, symbols=("SPY",), start="2007-10-01", end="2009-03-01"
    )
    assert single(losing)["total_return"] <= 0
    assert breakeven_commission(losing) == 0.0
    with pytest.raises(ConfigError, match="unknown metric"):
        breakeven_commission(hold, metric="profit")

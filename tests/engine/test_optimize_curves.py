"""Which equity curves an optimization keeps: every trial's while they fit EQUITY_CELLS, else (or when asked) the
best K in rank order, each equal to its own single backtest; the ranked table is the same whatever is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import engine.research.optimize as optimize_module
from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

COSTS = BacktestConfig(costs=Costs(commission_bps=5, slippage_bps=2))
RANGES = {"fast": [5, 10, 20, 40], "slow": [20, 50, 100]}  # 10 valid sets

pytestmark = pytest.mark.usefixtures("home")


@pytest.fixture(scope="module")
def spy():
    return load_market_data(["SPY"], start="2012-01-01", end="2020-12-31")


def spec(**kw) -> OptimizeSpec:
    base = dict(strategy="sma_cross", symbols=("SPY",), config=COSTS, ranges=RANGES)
    return OptimizeSpec(**{**base, **kw})


def assert_curves_are_the_best_trials(res, spy, k):
    best = list(res.table.index[:k])
    assert list(res.equity.columns) == best and res.equity.columns.name == "trial"
    for trial in best:
        params = {"fast": int(res.table.loc[trial, "fast"]), "slow": int(res.table.loc[trial, "slow"])}
        single = run_backtest(spy, create_strategy("sma_cross", params), COSTS)
        np.testing.assert_array_equal(res.equity[trial].to_numpy(), single.equity.to_numpy())


def test_asked_for_k_curves_keeps_the_best_k_in_rank_order(spy):
    every = run_optimization(spec(), data=spy)
    assert every.equity.shape == (len(spy), 10)  # 10 curves of nine years of bars fit EQUITY_CELLS: every one kept
    best3 = run_optimization(spec(), data=spy, curves=3)
    pd.testing.assert_frame_equal(best3.table, every.table, check_exact=True)
    assert best3.best_params == every.best_params
    assert_curves_are_the_best_trials(best3, spy, 3)
    none = run_optimization(spec(), data=spy, curves=0)
    assert none.equity.shape == (len(spy), 0) and none.equity.index.equals(spy.index)
    pd.testing.assert_frame_equal(none.table, every.table, check_exact=True)
    with pytest.raises(ConfigError, match="curves must be >= 0 .*got -1"):
        run_optimization(spec(), data=spy, curves=-1)


def test_past_equity_cells_the_default_keeps_the_top_curves(spy, monkeypatch):
    monkeypatch.setattr(optimize_module, "EQUITY_CELLS", len(spy) * 10 - 1)  # one cell short of every curve
    monkeypatch.setattr(optimize_module, "TOP_CURVES", 4)
    res = run_optimization(spec(objective="total_return"), data=spy)
    assert len(res.table) == 10
    assert_curves_are_the_best_trials(res, spy, 4)
    monkeypatch.setattr(optimize_module, "EQUITY_CELLS", len(spy) * 10)
    assert run_optimization(spec(objective="total_return"), data=spy).equity.shape == (len(spy), 10)


def test_optuna_and_random_keep_the_best_curves_too(spy):
    ranges = {"fast": list(range(5, 55, 5)), "slow": list(range(20, 220, 20))}
    tpe = run_optimization(spec(ranges=ranges, method="optuna", n_trials=24, seed=3), data=spy, curves=2)
    assert len(tpe.table) == 24
    assert_curves_are_the_best_trials(tpe, spy, 2)
    drawn = run_optimization(spec(ranges=ranges, method="random", n_trials=12, seed=7), data=spy, curves=2)
    assert_curves_are_the_best_trials(drawn, spy, 2)

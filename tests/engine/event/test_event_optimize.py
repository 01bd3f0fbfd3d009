"""Event strategies in the optimizer and in walk-forward (engine.research.event_grid): the event twin's table and
walk-forward equal the vectorized strategy's, and the seed strategies' bounds give runnable sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data import load_market_data
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.research.walkforward import WalkForwardSpec, run_walkforward

RANGES = {"fast": [5, 10, 20], "slow": [50, 100]}


def test_the_event_twin_optimizes_to_the_same_table(home: Path) -> None:
    data = load_market_data(["QQQ"])
    tables = {}
    for name in ("sma_cross", "sma_cross_event"):
        spec = OptimizeSpec(strategy=name, symbols=("QQQ",), ranges=RANGES, objective="sharpe")
        result = run_optimization(spec, data=data)
        tables[name] = result.table
        assert result.best_params
    metrics = ["sharpe", "total_return", "max_drawdown", "n_trades"]
    a, b = tables["sma_cross"], tables["sma_cross_event"]
    pd.testing.assert_frame_equal(a[["fast", "slow"]], b[["fast", "slow"]])
    np.testing.assert_allclose(b[metrics].to_numpy(float), a[metrics].to_numpy(float), rtol=1e-9, atol=1e-12)


def test_walk_forward_of_the_event_twin_equals_the_vectorized_one(home: Path) -> None:
    data = load_market_data(["SPY"], start="2005-01-01", end="2015-12-31")
    out = {}
    for name in ("sma_cross", "sma_cross_event"):
        spec = WalkForwardSpec(
            optimize=OptimizeSpec(strategy=name, symbols=("SPY",), ranges=RANGES), in_sample="3Y", out_of_sample="1Y"
        )
        out[name] = run_walkforward(spec, data=data)
    a, b = out["sma_cross"], out["sma_cross_event"]
    np.testing.assert_allclose(b.oos_equity.to_numpy(), a.oos_equity.to_numpy(), rtol=1e-9)


def test_seed_strategies_optimize_within_their_bounds(home: Path) -> None:
    data = load_market_data(["BTC-PERP"], start="2022-01-03", end="2022-01-04")
    spec = OptimizeSpec(strategy="grid_bot", symbols=("BTC-PERP",), method="random", n_trials=4, seed=1)
    result = run_optimization(spec, data=data)
    assert len(result.table) == 4 and np.isfinite(result.table["total_return"]).all()

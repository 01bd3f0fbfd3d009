"""The compiled crossover grid (engine.sim.grid_cross): every set equals `run_backtest` and the general grid on every
metric, in both jit tiers; a run using anything the fast path lacks takes the general path."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import BacktestConfig, Costs, Financing, Risk, Sizing
from engine.data import load_market_data
from engine.metrics import METRIC_NAMES
from engine.sim import grid as grid_mod
from engine.sim.grid import expand_grid, run_grid
from engine.sim.simulate import run_backtest
from engine.strategies.crossover import SmaCross
from engine.strategies.registry import get_strategy

COSTS = Costs(commission_bps=10, slippage_bps=5, min_commission=5.0)
CONFIGS = [
    BacktestConfig(),
    BacktestConfig(costs=COSTS),
    BacktestConfig(costs=COSTS, fractional=False, initial_cash=20_000.0, risk=Risk(max_leverage=1.5)),
    BacktestConfig(costs=Costs(commission_bps=3, min_commission=40.0), risk=Risk(max_position=0.6)),
]


def _sets(name: str = "sma_cross") -> list[dict]:
    ranges = {"fast": [3, 10, 25], "slow": [15, 60], "allow_short": [False, True], "weight": [1.0, 0.7]}
    return expand_grid(ranges, strategy_cls=get_strategy(name))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    same_nan = np.isnan(a) == np.isnan(b)
    ok = np.isnan(a) | (a == b) | (np.abs(a - b) <= 1e-12 * np.maximum(np.abs(a), np.abs(b)))
    return bool(same_nan.all() and ok.all())


@pytest.fixture()
def fast_calls(monkeypatch):
    """How many grids took the compiled path."""
    calls = []
    real = grid_mod.run_cross_grid

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(grid_mod, "run_cross_grid", spy)
    return calls


@pytest.mark.parametrize("symbol", ["SPY", "TSLA", "BTC-USD", "TLT"])
@pytest.mark.parametrize("config", CONFIGS, ids=["default", "costs", "whole_units", "caps"])
def test_every_set_equals_run_backtest(fast_calls, symbol, config) -> None:
    data = load_market_data([symbol], start="2014-01-01", end="2020-12-31")
    for name in ("sma_cross", "ema_cross"):
        cls, sets = get_strategy(name), _sets(name)
        grid = run_grid(data, cls, sets, config, workers=2, keep_equity=True, chunk_sets=5)
        for k, params in enumerate(sets):
            single = run_backtest(data, cls(params), config)
            np.testing.assert_array_equal(grid.equity[k].to_numpy(), single.equity.to_numpy())
            got = grid.metrics.loc[k].to_numpy(dtype=float)
            want = np.array([single.metrics[m] for m in METRIC_NAMES], dtype=float)
            assert _close(got, want), (name, params, dict(zip(METRIC_NAMES, zip(got, want))))
    assert len(fast_calls) == 2


def test_equals_the_general_grid_on_one_thread_and_a_pool(monkeypatch) -> None:
    data = load_market_data(["QQQ"], start="2008-01-01")
    cls = get_strategy("sma_cross")
    sets = expand_grid(
        {"fast": range(2, 40, 3), "slow": range(20, 200, 15), "allow_short": [False, True]}, strategy_cls=cls
    )
    fast = [run_grid(data, cls, sets, BacktestConfig(costs=COSTS), workers=w, keep_equity=False) for w in (1, 2)]
    monkeypatch.setattr(grid_mod, "fast_inputs", lambda *a: None)
    general = run_grid(data, cls, sets, BacktestConfig(costs=COSTS), workers=2, keep_equity=False)
    for res in fast:
        assert res.equity.shape == (len(data), 0)
        assert _close(res.metrics.to_numpy(dtype=float), general.metrics.to_numpy(dtype=float))
    assert (fast[0].metrics.to_numpy() == fast[1].metrics.to_numpy())[~np.isnan(fast[0].metrics.to_numpy())].all()


def test_interpreted_tier_equals_compiled(monkeypatch) -> None:
    data = load_market_data(["XLE"], start="2017-01-01", end="2019-12-31")
    cls = get_strategy("sma_cross")
    out = {}
    for how in ("compiled", "interpreted"):
        monkeypatch.setenv("IVYBT_JIT", how)
        out[how] = run_grid(data, cls, _sets()[:6], BacktestConfig(costs=COSTS), workers=1)
    np.testing.assert_array_equal(out["compiled"].equity.to_numpy(), out["interpreted"].equity.to_numpy())
    a, b = out["compiled"].metrics.to_numpy(dtype=float), out["interpreted"].metrics.to_numpy(dtype=float)
    assert _close(a, b)


class _OwnWeights(SmaCross):
    """A subclass with its own weights: the crossover rules no longer describe its sets."""

    name = "own_weights_cross"

    def target_weights(self, data):
        return super().target_weights(data) * 0.5


@pytest.mark.parametrize(
    "case",
    [
        "stop_loss",
        "sizing",
        "loss_limit",
        "next_close",
        "monthly",
        "cash_rate",
        "borrow",
        "two_symbols",
        "own_weights",
    ],
)
def test_a_feature_the_fast_path_lacks_falls_back(fast_calls, case) -> None:
    symbols = ["SPY", "TLT"] if case == "two_symbols" else ["SPY"]
    data = load_market_data(symbols, start="2016-01-01", end="2019-12-31")
    config = {
        "stop_loss": BacktestConfig(risk=Risk(stop_loss=0.05)),
        "sizing": BacktestConfig(sizing=Sizing(method="vol_target")),
        "loss_limit": BacktestConfig(max_consecutive_losses=2),
        "next_close": BacktestConfig(fill="next_close"),
        "monthly": BacktestConfig(rebalance="monthly"),
        "cash_rate": BacktestConfig(cash_rate=0.03),
        "borrow": BacktestConfig(financing=Financing(borrow_bps=300)),
    }.get(case, BacktestConfig())
    cls = _OwnWeights if case == "own_weights" else get_strategy("sma_cross")
    sets = [{"fast": 5, "slow": 20, "allow_short": True}, {"fast": 10, "slow": 50}]
    grid = run_grid(data, cls, sets, config, workers=1)
    assert fast_calls == []
    for k, params in enumerate(sets):
        single = run_backtest(data, cls(params), config)
        np.testing.assert_array_equal(grid.equity[k].to_numpy(), single.equity.to_numpy())

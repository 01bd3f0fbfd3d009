"""engine.sim.single: the single-series fast path of run_backtest gives the general kernel's numbers (equity, cash,
positions, weights, fills, trades, metrics) on every bundled daily symbol, in both jit tiers, and the dispatcher
sends every request that needs a feature it lacks to the general kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs, Financing, Risk
from engine.data import SAMPLE_DIR, load_market_data
from engine.data.market import MarketData
from engine.sim import simulate, single
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

pytestmark = pytest.mark.usefixtures("home")

SYMBOLS = sorted(p.stem.upper() for p in SAMPLE_DIR.glob("*.csv"))
CONFIGS = {
    "default": BacktestConfig(),
    "commission, slippage, minimum": BacktestConfig(costs=Costs(commission_bps=10, slippage_bps=5, min_commission=1.0)),
    "whole units": BacktestConfig(fractional=False, costs=Costs(commission_bps=5, min_commission=2.0)),
    "capped leverage": BacktestConfig(risk=Risk(max_leverage=1.2, max_position=0.9), costs=Costs(slippage_bps=3)),
}
PARAMS = ({"fast": 10, "slow": 50}, {"fast": 5, "slow": 20, "allow_short": True, "weight": 1.5})


def _general(monkeypatch: pytest.MonkeyPatch, *args, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(single, "eligible", lambda *a: False)
        return run_backtest(*args, **kwargs)


def _close(a, b, what: str) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True, err_msg=what)


def _same_result(fast, general) -> None:
    for what in ("equity", "cash", "positions", "weights", "financing", "benchmark"):
        _close(getattr(fast, what), getattr(general, what), what)
    assert fast.fills["time"].equals(general.fills["time"])
    assert list(fast.fills["reason"]) == list(general.fills["reason"])
    _close(fast.fills[["quantity", "price", "commission"]], general.fills[["quantity", "price", "commission"]], "fills")
    pd.testing.assert_frame_equal(fast.trades, general.trades, check_exact=False, rtol=1e-12)
    assert fast.metrics.keys() == general.metrics.keys()
    _close(list(fast.metrics.values()), list(general.metrics.values()), "metrics")
    assert fast.weights.columns.equals(general.weights.columns) and fast.positions.index.equals(general.positions.index)


@pytest.fixture(scope="module")
def bundled() -> dict[str, MarketData]:
    data = {s: load_market_data([s]) for s in SYMBOLS}
    assert len(data) == 36
    return data


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_fast_path_equals_general_kernel_on_every_bundled_symbol(monkeypatch, bundled, config_name) -> None:
    config = CONFIGS[config_name]
    taken = []
    real = single.run_single
    monkeypatch.setattr(single, "run_single", lambda *a: taken.append(1) or real(*a))
    fills = 0
    for data in bundled.values():
        for params in PARAMS:
            strategy = create_strategy("sma_cross", params)
            fast = run_backtest(data, strategy, config)
            general = _general(monkeypatch, data, strategy, config)
            _same_result(fast, general)
            fills += len(fast.fills)
    assert len(taken) == 2 * len(bundled)  # every run took the fast path
    assert fills > 2000


def test_fast_path_handles_missing_bars_like_the_general_kernel(monkeypatch, bundled) -> None:
    data = bundled["SPY"]
    frame = pd.DataFrame({f: data.field(f)["SPY"] for f in ("open", "high", "low", "close", "volume")})
    frame.iloc[100:104, [0, 3]] = np.nan  # no open, then no close: orders wait, targets carry over
    frame.iloc[400, 0] = np.nan
    holes = MarketData.from_frames({"SPY": frame})
    strategy = create_strategy("sma_cross", {"fast": 3, "slow": 8, "allow_short": True})
    for config in CONFIGS.values():
        _same_result(run_backtest(holes, strategy, config), _general(monkeypatch, holes, strategy, config))


def test_both_tiers_give_the_same_numbers(monkeypatch, bundled) -> None:
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20, "allow_short": True})
    config = CONFIGS["whole units"]
    out = {}
    for how in ("compiled", "interpreted"):
        monkeypatch.setenv("IVYBT_JIT", how)
        out[how] = run_backtest(bundled["XLE"], strategy, config)
    np.testing.assert_array_equal(out["compiled"].equity.to_numpy(), out["interpreted"].equity.to_numpy())
    np.testing.assert_array_equal(out["compiled"].positions.to_numpy(), out["interpreted"].positions.to_numpy())
    pd.testing.assert_frame_equal(out["compiled"].fills, out["interpreted"].fills)
    assert out["compiled"].metrics == pytest.approx(out["interpreted"].metrics, rel=0, abs=0, nan_ok=True)


FALLBACKS = {
    "stop loss": (BacktestConfig(risk=Risk(stop_loss=0.05)), 1),
    "weekly rebalance": (BacktestConfig(rebalance="weekly"), 1),
    "next close": (BacktestConfig(fill="next_close"), 1),
    "same close": (BacktestConfig(fill="same_close"), 1),
    "cash rate": (BacktestConfig(cash_rate=0.02), 1),
    "margin rate": (BacktestConfig(financing=Financing(margin_rate=0.05)), 1),
    "borrow fee": (BacktestConfig(financing=Financing(borrow_bps=30)), 1),
    "loss stop": (BacktestConfig(max_consecutive_losses=3), 1),
    "two symbols": (BacktestConfig(), 2),
}


@pytest.mark.parametrize("feature", list(FALLBACKS))
def test_dispatcher_falls_back_to_the_general_kernel(monkeypatch, feature) -> None:
    config, n_symbols = FALLBACKS[feature]
    data = load_market_data(["SPY", "QQQ"][:n_symbols], start="2015-01-01", end="2017-12-31")
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20, "allow_short": True})

    def refuse(*args):
        raise AssertionError("the single-series path ran")

    monkeypatch.setattr(single, "run_single", refuse)
    general_calls = []
    real = simulate.simulate_kernel
    monkeypatch.setattr(simulate, "simulate_kernel", real)  # restored after the test
    monkeypatch.setattr(simulate.jit, "kernel", _counting(simulate.jit.kernel, real, general_calls))
    result = run_backtest(data, strategy, config)
    assert general_calls and len(result.equity) == len(data)


def test_plain_request_takes_the_fast_path(monkeypatch) -> None:
    data = load_market_data(["SPY"], start="2015-01-01", end="2017-12-31")
    monkeypatch.setattr(single, "run_single", lambda *a: (_ for _ in ()).throw(LookupError("fast path")))
    with pytest.raises(LookupError, match="fast path"):
        run_backtest(data, create_strategy("sma_cross", {"fast": 5, "slow": 20}), BacktestConfig())


def _counting(kernel, target, calls: list):
    def pick(fn, cells):
        if fn is target:
            calls.append(cells)
        return kernel(fn, cells)

    return pick

"""The sizing overlay is one function on every path: a grid equals single backtests with it, the daily signals
of a preset trade the sized weights, and the look-ahead audit passes with each overlay on."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.ops.signals import generate_signals
from engine.request import BacktestRequest
from engine.research.audit import audit_lookahead
from engine.sim.grid import run_grid
from engine.sim.simulate import run_backtest
from engine.sim.sized_strategy import SizedStrategy
from engine.store.presets import Preset
from engine.strategies.crossover import SmaCross
from engine.strategies.registry import create_strategy

SYMBOLS = ["SPY", "QQQ", "TLT"]
OVERLAYS = {
    "vol_target": {"method": "vol_target", "target_vol": 0.08, "lookback": 42},
    "fixed_fraction": {"method": "fixed_fraction", "risk_per_trade": 0.02},
    "kelly": {"method": "kelly", "min_trades": 4, "kelly_fraction": 0.5},
    "atr": {"method": "atr", "atr_length": 10, "atr_multiple": 3.0},
}


@pytest.fixture(scope="module")
def data() -> MarketData:
    return load_market_data(SYMBOLS, "2013-01-01", "2016-12-31")


def config(overlay: str) -> BacktestConfig:
    return BacktestConfig.from_dict({"risk": {"stop_loss": 0.08}, "rebalance": "monthly", "sizing": OVERLAYS[overlay]})


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_grid_equals_single_backtests(data: MarketData, overlay: str) -> None:
    sets = [{"fast": 10, "slow": 40}, {"fast": 20, "slow": 80}]
    cfg = config(overlay)
    grid = run_grid(data, SmaCross, sets, cfg, workers=1)
    plain = run_backtest(data, SmaCross(sets[0]), BacktestConfig.from_dict({"risk": {"stop_loss": 0.08}}))
    for k, params in enumerate(sets):
        single = run_backtest(data, SmaCross(params), cfg)
        assert np.allclose(grid.equity[k].to_numpy(), single.equity.to_numpy(), rtol=1e-12)
    sized = run_backtest(data, SmaCross(sets[0]), cfg)
    assert not np.allclose(sized.equity.to_numpy(), plain.equity.to_numpy())  # the overlay did something


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_lookahead_audit_passes_with_the_overlay(data: MarketData, overlay: str) -> None:
    strategy = SizedStrategy(create_strategy("sma_cross", {"fast": 10, "slow": 40}), config(overlay))
    report = audit_lookahead(strategy, data, n_checks=8)
    assert report.passed, report.summary()
    assert report.checked_points >= 8


def test_daily_signals_trade_the_sized_weights(data: MarketData, workspace) -> None:
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 40},
        symbols=tuple(SYMBOLS),
        start="2013-01-01",
        config=config("vol_target"),
    )
    report = generate_signals(Preset.from_request("sized", request), data=data, record=False)
    sized = run_backtest(data, SmaCross({"fast": 10, "slow": 40}), config("vol_target")).weights.iloc[-1]
    raw = SmaCross({"fast": 10, "slow": 40}).target_weights(data).iloc[-1]
    assert report.targets == pytest.approx(sized.to_dict())
    assert any(abs(report.targets[s] - raw[s]) > 1e-6 for s in SYMBOLS if raw[s] != 0)


def test_walkforward_oos_windows_are_sized_backtests(home) -> None:
    from engine.research.optimize import OptimizeSpec
    from engine.research.walkforward import WalkForwardSpec, run_walkforward

    spy = load_market_data(["SPY"], "2010-01-01", "2014-12-31")
    cfg = BacktestConfig.from_dict({"sizing": {"method": "vol_target", "target_vol": 0.08, "lookback": 42}})
    ranges = {"fast": [10, 20], "slow": [50, 100]}
    opt = OptimizeSpec(strategy="sma_cross", symbols=("SPY",), config=cfg, ranges=ranges)
    result = run_walkforward(WalkForwardSpec(opt, "2Y", "1Y", False), data=spy, workers=1)
    for _, row in result.windows.iterrows():
        part = spy.slice(row["is_start"], row["oos_end"])
        params = {"fast": row["fast"], "slow": row["slow"]}
        sized = run_backtest(part, SmaCross(params), cfg).equity
        plain = run_backtest(part, SmaCross(params), BacktestConfig()).equity
        before = sized.iloc[sized.index.get_loc(row["oos_start"]) - 1]
        assert row["oos_return"] == pytest.approx(sized.iloc[-1] / before - 1.0, rel=1e-12)
        plain_before = plain.iloc[plain.index.get_loc(row["oos_start"]) - 1]
        assert row["oos_return"] != pytest.approx(plain.iloc[-1] / plain_before - 1.0, rel=1e-9)

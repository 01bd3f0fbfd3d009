"""Event mode equals the vectorized engine (issue 17 item 4): the event twins of sma_cross, ema_trend and
donchian_breakout, trading real orders against the simulated broker, give the vectorized kernel's trades (entry and
exit bar and price, quantity) and equity within 1e-9 relative, on every bundled daily symbol.

The two are independent implementations of the same rules: the kernel (engine.sim.kernels, numba, target weights)
and the simulated broker (engine.sim.event, Python, orders with stop / limit / trailing-stop exits)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.data.sources import SAMPLE_DIR
from engine.sim.event.run import run_event_backtest
from engine.sim.simulate import run_backtest
from engine.strategies.breakout import DonchianBreakout
from engine.strategies.crossover import SmaCross
from engine.strategies.event_systems import DonchianEvent, EmaTrendEvent, SmaCrossEvent
from engine.strategies.trend import EmaTrend

SYMBOLS = sorted(p.stem for p in Path(SAMPLE_DIR).glob("*.csv"))
COSTS = {"commission_bps": 5.0, "slippage_bps": 3.0}
CASES = [  # (vectorized, event twin, params, costs): ema_trend's take-profit is a limit (no slippage: see below)
    (SmaCross, SmaCrossEvent, {}, COSTS),
    (SmaCross, SmaCrossEvent, {"fast": 20, "slow": 100, "allow_short": True}, COSTS),
    (EmaTrend, EmaTrendEvent, {}, {"commission_bps": 5.0}),
    (DonchianBreakout, DonchianEvent, {"system": 55, "allow_short": True}, COSTS),
]


def assert_same_run(vectorized, event) -> None:
    tv, te = vectorized.trades.reset_index(drop=True), event.trades.reset_index(drop=True)
    assert len(tv) == len(te) > 0
    for column in ("symbol", "side", "entry_time", "exit_time", "exit_reason"):
        pd.testing.assert_series_equal(tv[column], te[column], check_names=False)
    for column in ("entry_price", "exit_price", "quantity", "pnl"):
        np.testing.assert_allclose(te[column], tv[column], rtol=1e-9, atol=1e-9, err_msg=column)
    np.testing.assert_allclose(event.equity.to_numpy(), vectorized.equity.to_numpy(), rtol=1e-9, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_event_twins_equal_the_vectorized_engine_on_every_bundled_symbol(home: Path, symbol: str) -> None:
    data = load_market_data([symbol])
    for weights_cls, event_cls, params, costs in CASES:
        config = BacktestConfig(costs=costs)
        vectorized = run_backtest(data, weights_cls(params), config)
        event = run_event_backtest(data, event_cls(params), config)
        assert_same_run(vectorized, event)


def test_sma_cross_event_on_two_symbols_shares_cash_like_the_kernel(home: Path) -> None:
    data = load_market_data(["SPY", "BTC-USD"])  # a 5-day and a 7-day calendar: bars missing on one side
    config = BacktestConfig(costs=COSTS)
    assert_same_run(run_backtest(data, SmaCross(), config), run_event_backtest(data, SmaCrossEvent(), config))


def test_whole_units_and_min_commission_agree(home: Path) -> None:
    data = load_market_data(["AAPL"])
    config = BacktestConfig(costs={"commission_bps": 1.0, "min_commission": 1.0}, fractional=False)
    assert_same_run(run_backtest(data, SmaCross(), config), run_event_backtest(data, SmaCrossEvent(), config))


def test_take_profit_is_a_limit_never_filled_worse_than_its_price(home: Path) -> None:
    """Where the two modes differ on purpose: with slippage the vectorized kernel slips its take-profit exit, the
    simulator fills the limit at its price or better. Every take-profit of the event run is at or above its limit."""
    data = load_market_data(["SPY"])
    run = run_event_backtest(data, EmaTrendEvent(), BacktestConfig(costs={"slippage_bps": 10.0}))
    orders = run.orders
    limits = orders[(orders.type == "limit") & (orders.event == "filled")]
    assert len(limits) > 5
    assert (limits.fill_price >= limits.limit_price - 1e-12).all()


def test_financing_cash_interest_margin_and_borrow_agree(home: Path) -> None:
    """Shorts pay their borrow fee, cash earns interest, a leveraged long pays margin: per bar, as the kernel."""
    data = load_market_data(["QQQ"])
    financing = {"borrow_bps": 150.0, "margin_rate": 0.07}
    config = BacktestConfig(costs=COSTS, cash_rate=0.03, financing=financing, risk={"max_leverage": 2.0})
    params = {"system": 20, "allow_short": True, "weight": 1.0}
    vectorized = run_backtest(data, DonchianBreakout(params), config)
    event = run_event_backtest(data, DonchianEvent(params), config)
    assert_same_run(vectorized, event)
    np.testing.assert_allclose(event.financing.to_numpy(), vectorized.financing.to_numpy(), rtol=1e-9, atol=1e-9)
    assert (vectorized.financing.sum() > 0).all()  # every line was charged or earned
    lever = BacktestConfig(cash_rate=0.02, financing={"margin_rate": 0.06}, risk={"max_leverage": 2.0})
    assert_same_run(
        run_backtest(data, SmaCross({"weight": 1.6}), lever),
        run_event_backtest(data, SmaCrossEvent({"weight": 1.6}), lever),
    )

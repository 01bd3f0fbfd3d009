"""Limit and stop entries against backtesting.py 0.6.6 (issue 17 item 4): the same two strategies written in both
engines give the same closed trades on SPY (entry and exit bar and price, size).

Shared rules: an order placed at the close of bar t is processed from bar t + 1; a buy limit fills at the open if
the open is at or below it, else at the limit when the low reaches it; a buy stop fills at the open if the open is
at or above it, else at the stop when the high reaches it; `position.close()` / `ctx.close()` at the next open.
Fixed 10-share orders, no costs, cash that never binds. backtesting.py starts calling `next` one bar after its
indicators are all defined; the IvyBT strategies wait the same bar."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest
from backtesting import Strategy as BtStrategy

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.sim.event.run import run_event_backtest
from engine.strategies.events import EventStrategy

SIZE = 10
CASH = 10_000_000.0


def sma(values: Any, n: int) -> np.ndarray:
    return pd.Series(np.asarray(values, dtype=float)).rolling(n).mean().to_numpy()


def highest(values: Any, n: int) -> np.ndarray:
    return pd.Series(np.asarray(values, dtype=float)).rolling(n).max().to_numpy()


class BtLimitDip(BtStrategy):
    def init(self) -> None:
        self.ma = self.I(sma, self.data.Close, 20)

    def next(self) -> None:
        close, ma = self.data.Close[-1], self.ma[-1]
        if not self.position:
            for order in self.orders:  # re-pegged every bar: the unfilled limit goes, a new one is placed
                order.cancel()
            if close < ma:
                self.buy(size=SIZE, limit=round(close * 0.99, 6))
        elif close > ma * 1.02:
            self.position.close()


class BtStopBreakout(BtStrategy):
    def init(self) -> None:
        self.ma = self.I(sma, self.data.Close, 20)
        self.hh = self.I(highest, self.data.High, 10)

    def next(self) -> None:
        if not self.position and not self.orders:
            self.buy(size=SIZE, stop=float(self.hh[-1]))
        elif self.position and self.data.Close[-1] < self.ma[-1]:
            self.position.close()


class _Shared(EventStrategy):
    @dataclass(frozen=True)
    class Params:
        pass

    def on_start(self, ctx: Any) -> None:
        self.ma = ctx.indicator(lambda b: sma(b["close"], 20))
        self.hh = ctx.indicator(lambda b: highest(b["high"], 10))

    def ready(self) -> bool:
        """backtesting.py first calls `next` one bar after every indicator is defined (its `start` + 1)."""
        return not (math.isnan(self.ma[-1]) or math.isnan(self.hh[-1]))


class LimitDip(_Shared):
    name = "limit_dip"

    def on_bar(self, bar: Any, ctx: Any) -> None:
        if not self.ready():
            return
        held, ma = ctx.position(), self.ma[0]
        if held == 0:
            for order in ctx.open_orders():
                ctx.cancel(order.id)
            if bar.close < ma:
                ctx.buy(SIZE, "limit", limit_price=round(bar.close * 0.99, 6), time_in_force="gtc")
        elif bar.close > ma * 1.02:
            ctx.close()


class StopBreakout(_Shared):
    name = "stop_breakout"

    def on_bar(self, bar: Any, ctx: Any) -> None:
        if not self.ready():
            return
        held = ctx.position()
        if held == 0 and not ctx.open_orders():
            ctx.buy(SIZE, "stop", stop_price=float(self.hh[0]), time_in_force="gtc")
        elif held and bar.close < self.ma[0]:
            ctx.close()


def backtesting_py_trades(frame: pd.DataFrame, strategy: type[BtStrategy]) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(frame.rename(columns=str.capitalize), strategy, cash=CASH, finalize_trades=False)
        trades = bt.run()._trades
    return pd.DataFrame(
        {
            "entry_time": trades.EntryTime.to_numpy(),
            "exit_time": trades.ExitTime.to_numpy(),
            "entry_price": trades.EntryPrice.to_numpy(),
            "exit_price": trades.ExitPrice.to_numpy(),
            "quantity": trades.Size.abs().to_numpy(dtype=float),
        }
    )


@pytest.mark.parametrize(("ours", "theirs"), [(LimitDip, BtLimitDip), (StopBreakout, BtStopBreakout)])
def test_limit_and_stop_entries_equal_backtesting_py(home: Path, ours: type[EventStrategy], theirs: Any) -> None:
    data = load_market_data(["SPY"])
    frame = pd.DataFrame({f: getattr(data, f)["SPY"] for f in ("open", "high", "low", "close", "volume")})
    expected = backtesting_py_trades(frame, theirs)
    run = run_event_backtest(data, ours(), BacktestConfig(initial_cash=CASH))
    got = run.trades[run.trades.exit_reason != "open"].reset_index(drop=True)
    assert len(expected) > 50
    assert len(got) == len(expected)
    np.testing.assert_array_equal(got.entry_time.to_numpy(), expected.entry_time.to_numpy())
    np.testing.assert_array_equal(got.exit_time.to_numpy(), expected.exit_time.to_numpy())
    for column in ("entry_price", "exit_price", "quantity"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-12, err_msg=column)

"""`run_event_backtest`: an `EventStrategy` against the simulated broker, bar by bar, into a `BacktestResult`.

Per bar t: the broker fills what bar t's open and range reach (engine.sim.event.book), then the strategy's
`on_bar` sees the close of t for each symbol with a bar at t, in column order. The result is the vectorized
engine's (engine.sim.simulate.wrap_result: the same metrics, trades, run store) plus `orders`, the order log.

Speed: bars are read from Python lists made once (no per-bar pandas), the broker is skipped on bars without a
working order, and equity, cash and positions are built after the loop from the fills (engine.sim.event.fills).
"""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd

from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import ConfigError, StrategyError
from engine.orders.errors import BrokerError
from engine.sim.event.broker import SimulatedBroker
from engine.sim.event.context import Bar, Column, Context, Times
from engine.sim.event.fills import outputs
from engine.sim.event.settings import Execution
from engine.sim.memory import retain_freed_memory
from engine.sim.result import BacktestResult, Deferred
from engine.sim.simulate import financing_on, wrap_result
from engine.strategies.events import EventStrategy


def run_event_backtest(
    data: MarketData,
    strategy: EventStrategy,
    config: BacktestConfig | None = None,
    execution: Execution | None = None,
    *,
    benchmark_close: pd.Series | None = None,
    tag: str = "ev",
) -> BacktestResult:
    """Run `strategy` over `data` with `config`'s cash, costs and fractional rule and `execution`'s latency and
    volume cap. Fills only at the next bar's open or later (config.fill other than "next_open" is refused)."""
    retain_freed_memory()  # engine.sim.memory: the next run reuses this one's pages
    config = config or BacktestConfig()
    execution = execution or Execution()
    if config.fill != "next_open":
        raise ConfigError(f"event mode fills orders at the next open or later; fill={config.fill!r} is not available")
    if len(data) < 2:
        raise ConfigError(f"a backtest needs at least 2 bars; the data has {len(data)}")
    arrays = data.to_arrays()
    index = data.index
    broker = SimulatedBroker(
        arrays,
        data.symbols,
        Times(index),
        sessions(index),
        config,
        execution.bars_of_latency(bar_seconds(index)),
        execution.participation,
    )
    ctx = Context(broker, data, tag)
    if type(strategy).on_fill is not EventStrategy.on_fill:  # a callback costs a Fill / OrderStatus per event
        broker.on_fill = lambda fill: strategy.on_fill(fill, ctx)
    if type(strategy).on_order is not EventStrategy.on_order:
        broker.on_order = lambda update: strategy.on_order(update, ctx)
    strategy.on_start(ctx)
    collecting = gc.isenabled()
    gc.disable()  # the loop makes many small objects and no cycles: a full collection would walk every price list
    try:
        if financing_on(config):
            cash_by_bar = _financed_loop(strategy, ctx, broker, arrays)
        else:
            _loop(strategy, ctx, broker, arrays)
            cash_by_bar = None
    except BrokerError as e:  # a bad order in a backtest is the strategy's error, said in one line
        raise StrategyError(f"{strategy.name} at bar {ctx.i} ({ctx.times[max(ctx.i, 0)]}): {e}") from e
    finally:
        if collecting:
            gc.enable()
    strategy.on_stop(ctx)
    fills = broker.log.fill_array()
    equity, cash, positions, weights, turnover, gross, last_close, fills = outputs(
        fills, arrays["close"], config.initial_cash, cash_by_bar
    )
    result = wrap_result(
        data, strategy, config, benchmark_close, arrays["close"], equity, cash, positions, weights, turnover, gross,
        last_close, fills, broker.financing,
    )  # fmt: skip
    result.orders = Deferred(lambda: broker.log.order_frame(index))
    return result


def _loop(strategy: EventStrategy, ctx: Context, broker: SimulatedBroker, arrays: dict[str, np.ndarray]) -> None:
    """The bar loop (the hot path: plain lists and locals)."""
    on_bar = strategy.on_bar
    columns = [Column(sym, arrays, j, ctx.times) for j, sym in enumerate(ctx.symbols)]
    begin = broker.begin_bar
    working = broker.working
    if len(columns) == 1:
        column = columns[0]
        c = column.close
        for t in range(len(c)):
            broker.t = t
            if working:
                begin(t)
            ctx.i = t
            if c[t] == c[t]:  # not NaN: the symbol has a bar
                on_bar(Bar(column, t), ctx)
        return
    for t in range(len(ctx.times)):
        broker.t = t
        if working:
            begin(t)
        ctx.i = t
        for column in columns:
            if column.close[t] == column.close[t]:
                ctx.symbol = column.symbol
                on_bar(Bar(column, t), ctx)


def _financed_loop(
    strategy: EventStrategy, ctx: Context, broker: SimulatedBroker, arrays: dict[str, np.ndarray]
) -> np.ndarray:
    """The bar loop of a run with financing: each bar starts with the broker's financing of the time since the
    last close (engine.sim.kernels' order), and the cash at each close is recorded. Slower; only when on."""
    columns = [Column(sym, arrays, j, ctx.times) for j, sym in enumerate(ctx.symbols)]
    cash = np.empty(len(ctx.times))
    for t in range(len(ctx.times)):
        broker.t = t
        if t > 0:
            broker.finance(t)
        if broker.working:
            broker.begin_bar(t)
        ctx.i = t
        for column in columns:
            if column.close[t] == column.close[t]:
                ctx.symbol = column.symbol
                strategy.on_bar(Bar(column, t), ctx)
        cash[t] = broker.cash
    return cash


def sessions(index: pd.Index) -> np.ndarray:
    """The trading day of each bar (a "day" order lives through one): the UTC calendar date of a timestamp; each
    bar its own session for an index without times."""
    if isinstance(index, pd.DatetimeIndex):
        return np.asarray(index.normalize().asi8)
    return np.arange(len(index))


def bar_seconds(index: pd.Index) -> float:
    """The data's bar length in seconds: the median step between bars (0 without times)."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return 0.0
    return float(np.median(np.diff(index.as_unit("ns").asi8)) / 1e9)

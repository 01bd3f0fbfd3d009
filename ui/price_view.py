"""The "Prices & trades" tab of a run: one symbol's candles with the strategy's own lines, its trades and the
stop levels each trade carried.

The lines are the strategy's `plot_series` on the run's bars. The stop distances are the simulator's own
(`engine.sim.simulate.stop_arrays`: the strategy's `stop_fractions`, else the config's fractions), read for each
trade at its signal bar: the bar before the entry, or the entry bar itself for same-close fills.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from engine.data.market import MarketData
from engine.errors import EngineError
from engine.journal.frames import journal_table
from engine.sim.simulate import stop_arrays
from engine.store.runs import StoredRun
from engine.strategies.registry import create_strategy, is_event_strategy
from ui import charts_orders, charts_price
from ui.charts_journal import add_journal_markers
from ui.figure_theme import theme_type

STOP_KINDS = ("stop_loss", "take_profit", "trailing_stop")


def signal_rows(index: pd.Index, entry_times: pd.Series, fill: str) -> np.ndarray:
    """The row of each trade's signal bar in `index`: the row before its entry (next_open / next_close fills),
    the entry row itself for same_close."""
    rows = index.get_indexer(pd.DatetimeIndex(entry_times))
    return rows if fill == "same_close" else np.maximum(rows - 1, 0)


def trade_stops(run: StoredRun, data: MarketData, symbol: str, trades: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per stop kind, the distance (fraction of the entry price, NaN = off) each of `trades` (one symbol's, in
    order) was simulated with."""
    strategy = create_strategy(run.result.strategy, run.result.params)
    arrays, used = stop_arrays(strategy, data, run.result.config)
    if not used or trades.empty:
        return {}
    rows = signal_rows(data.index, trades["entry_time"], run.result.config.fill)
    column = data.symbols.index(symbol)
    out = {}
    for kind, values in zip(STOP_KINDS, arrays):
        per_trade = values[rows, column] if values.shape[0] == len(data.index) else np.full(len(trades), np.nan)
        if np.isfinite(per_trade).any():
            out[kind] = per_trade
    return out


def strategy_lines(run: StoredRun, data: MarketData, symbol: str) -> dict[str, tuple[str, pd.Series]]:
    """The strategy's `plot_series` for one symbol: label -> (panel, values)."""
    strategy = create_strategy(run.result.strategy, run.result.params)
    return {label: (line.panel, line.values[symbol]) for label, line in strategy.plot_series(data).items()}


def with_pending_levels(fig: Any, run: StoredRun, bars: pd.DataFrame, symbol: str) -> Any:
    """`fig` with the pending stop and limit levels of an event run's orders in `symbol` (a vectorized run: as is)."""
    orders = run.result.orders
    if orders is None or bars.empty:
        return fig
    return charts_orders.add_pending_levels(fig, charts_orders.pending_levels(orders, bars.index[-1], symbol))


def price_chart(run: StoredRun, data: MarketData, symbol: str, theme: str | None = None) -> Any:
    """The price figure of one symbol of a run: candles, the strategy's lines, trades and their stops. An event
    run's stops are resting orders: its pending stop and limit levels come from its order log instead, and an
    event strategy has no lines of its own."""
    res = run.result
    trades = res.trades[res.trades["symbol"].astype(str) == symbol].sort_values("entry_time").reset_index(drop=True)
    bars = pd.DataFrame({f: data.field(f)[symbol] for f in ("open", "high", "low", "close", "volume")})
    event = res.orders is not None
    fig = charts_price.price_figure(
        bars,
        symbol,
        trades,
        {} if event else trade_stops(run, data, symbol, trades),
        entry_at_open=res.config.fill == "next_open",
        lines={} if is_event_strategy(res.strategy) else strategy_lines(run, data, symbol),
        theme=theme,
    )
    return with_pending_levels(fig, run, bars, symbol)


def show_prices(run: StoredRun, data: MarketData, key: str, config: dict[str, Any]) -> None:
    """The tab: a symbol picker and its price chart, in the viewer's theme."""
    symbol = st.selectbox("Symbol", data.symbols, key=f"{key}_sym")
    kind = theme_type()
    try:
        fig = price_chart(run, data, symbol, kind)
    except EngineError as e:  # e.g. a user strategy that no longer loads: the chart without its lines
        st.warning(f"The strategy's lines and stops cannot be drawn: {e}")
        res = run.result
        bars = pd.DataFrame({f: data.field(f)[symbol] for f in ("open", "high", "low", "close", "volume")})
        trades = res.trades[res.trades["symbol"].astype(str) == symbol]
        fig = with_pending_levels(charts_price.price_figure(bars, symbol, trades, theme=kind), run, bars, symbol)
    fig = add_journal_markers(fig, journal_table(run_id=run.id), symbol=symbol, row=1, col=1)
    if kind is None:
        st.plotly_chart(fig, key=f"{key}_price", config=config)
    else:
        st.plotly_chart(fig, key=f"{key}_price", config=config, theme=None)

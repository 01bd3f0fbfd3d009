"""The consecutive-loss stop as an optional backtest overlay: the live rule "stop trading after N losing trades
in a row" (engine.ops.risk's consecutive_losses check and its kill switch) applied to a backtest
(`BacktestConfig.max_consecutive_losses`; None = off, and the simulator then never calls this module).

Semantics:
- Trades are the backtest's closed round trips as `engine.sim.trades` defines them (a position leaves 0 and
  returns to 0 or flips); a trade still open after the last bar is not closed and never counts. A loss is
  pnl < 0 (net of the backtest's costs), a win pnl >= 0, as the live rule's `losing_streak`.
- Mapping to the live rule: live, every closing fill is one round trip (FIFO per symbol, engine.ops.round_trips,
  P&L without commissions). A backtest trade opened by one fill and closed by one fill is exactly one such
  round trip: the same symbol, quantity, prices and exit time; with zero costs the same P&L. A backtest trade
  scaled out in several fills (rebalances) is one trade here but one live round trip per closing fill, and
  commissions can turn a live win of a few cents into a backtest loss; the two rules agree trade for trade
  when each trade opens and closes in one fill and costs are zero (checked in
  tests/engine/test_overlay_consecutive_losses.py).
- The rule is evaluated at each bar's close over the trades closed so far, like the live check at each plan,
  in the order their closing fills happened (the fill log's order, `closing_order`): when the trailing run of
  losses has reached N at the close of bar t, trading stops there. Nothing after bar t is read (no
  look-ahead): a backtest is the same path up to bar t whether the rule is on or not.
- Stopped = no new orders: every decision from the close of t on is replaced by "hold" (the last target the
  kernel holds, and no scheduled rebalance), so the kernel places no order and positions keep their units.
  With fill "same_close" the decision at t already filled at that close (the same instant), so the hold starts
  at t + 1. What is already at the broker still works: the protective exits of the config or the strategy
  (stop_loss / take_profit / trailing_stop) fire as they would, and an order decided before the stop that
  waits for a symbol's next bar still fills. Equity keeps marking to market; cash still earns its rate.
- How: the kernel runs once unrestricted; if the rule engages at bar t, it runs again with the hold from
  there on (nothing to redo when that is past the last bar). Both runs are identical up to bar t, so the
  second run's trades closed by t are the first run's, and `find_stop` on the final trades finds the same
  bar (a stored run's `stopped` is found that way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.sim.kernels import FILL_MODES, REASONS, SAME_CLOSE

PROTECTIVE = REASONS[2:]
"""Exit reasons of the protective exits (stop_loss, take_profit, trailing_stop): they fire at the broker."""
KernelOutputs = tuple[np.ndarray, ...]
"""What `engine.sim.kernels.simulate_kernel` returns: equity, cash, positions, weights, turnover, gross,
last close and fills."""


@dataclass(frozen=True)
class TradingStop:
    """Where the consecutive-loss stop engaged: `bar` (its position in the data) and `time` (its label) of
    the close at which the trailing run of `len(trades)` >= `limit` losing trades was complete; `trades`: that
    run (rows of the trade list, oldest first)."""

    bar: int
    time: Any
    limit: int
    trades: pd.DataFrame

    @property
    def reason(self) -> str:
        """One line in the live check's words: the count, the limit and each trade."""
        listed = "; ".join(
            f"{r.symbol} {r.quantity:g} @ {r.entry_price:,.2f} -> {r.exit_price:,.2f} ({r.pnl:+,.2f})"
            for r in self.trades.itertuples()
        )
        return f"{len(self.trades)} consecutive losing trades (limit {self.limit}): {listed}"

    @property
    def date(self) -> str:
        """The stop's time as text: the date for daily bars, date and time otherwise."""
        t = self.time
        if isinstance(t, pd.Timestamp):
            return t.strftime("%Y-%m-%d") if t == t.normalize() else str(t)
        return str(t)


def closing_order(trades: pd.DataFrame, symbols: list[str], fill: str) -> np.ndarray:
    """Row positions of the closed trades of `trades` in the order the kernel filled their closing fills (the
    fill log's order, engine.sim.kernels): by exit bar; within a bar, with fill "next_open" the order exits at
    the open before the protective exits, otherwise the protective exits before the order exits at the close;
    order exits sell (long exits) before they buy (short exits); then by symbol. Open trades are left out."""
    closed = np.flatnonzero((trades["exit_reason"] != "open").to_numpy())
    if len(closed) == 0:
        return closed
    rows = trades.iloc[closed]
    protective = rows["exit_reason"].isin(PROTECTIVE).to_numpy()
    by_order = protective if fill == "next_open" else ~protective
    side = np.where(protective | (rows["side"] == "long").to_numpy(), 0, 1)
    symbol = pd.Index(symbols).get_indexer(pd.Index(rows["symbol"]))
    keys = pd.DataFrame({"exit": rows["exit_time"].to_numpy(), "group": by_order, "side": side, "symbol": symbol})
    return closed[keys.sort_values(["exit", "group", "side", "symbol"], kind="stable").index.to_numpy()]


def first_stop(exit_bar: np.ndarray, pnl: np.ndarray, limit: int) -> tuple[int, slice] | None:
    """The first bar at whose close the trailing run of losses (pnl < 0) among the trades closed so far is at
    least `limit` long, and that run as a slice of the inputs; None if it never is. Inputs: the closed trades'
    exit bars and P&L in closing order (`closing_order`)."""
    run = 0
    for i in range(len(exit_bar)):
        run = run + 1 if pnl[i] < 0 else 0
        last_of_bar = i + 1 == len(exit_bar) or exit_bar[i + 1] != exit_bar[i]
        if last_of_bar and run >= limit:
            return int(exit_bar[i]), slice(i + 1 - run, i + 1)
    return None


def find_stop(
    trades: pd.DataFrame, limit: int | None, index: pd.Index, symbols: list[str], fill: str
) -> TradingStop | None:
    """The stop that `limit` consecutive losses engage in a trade list (`engine.sim.result.TRADE_COLUMNS`) of
    a backtest on the bars `index` of `symbols` filled per `fill`, or None (also when `limit` is None)."""
    if limit is None or trades.empty:
        return None
    closed = trades.iloc[closing_order(trades, symbols, fill)].reset_index(drop=True)
    exit_bar = index.get_indexer(pd.Index(closed["exit_time"]))
    found = first_stop(exit_bar, closed["pnl"].to_numpy(dtype="float64"), limit)
    if found is None:
        return None
    bar, run = found
    return TradingStop(bar=bar, time=index[bar], limit=limit, trades=closed.iloc[run].reset_index(drop=True))


def hold_weights(weights: np.ndarray, close: np.ndarray, first: int) -> np.ndarray:
    """`weights` with every row from `first` on replaced by the target the kernel holds after row first - 1:
    per symbol its weight at the last bar before `first` on which it had a close (NaN and no such bar = 0),
    which is what the kernel carries over bars without data. Feeding it back changes no target: no order."""
    out = np.array(weights, dtype=np.float64, copy=True)
    if first >= len(out):
        return out
    seen = ~np.isnan(close[:first])
    held = np.zeros(out.shape[1])
    for j in range(out.shape[1]):
        rows = np.flatnonzero(seen[:, j])
        if len(rows):
            v = out[rows[-1], j]
            held[j] = 0.0 if np.isnan(v) else v
    out[first:] = held
    return out


def stop_after_losses(
    rerun: Callable[[np.ndarray, np.ndarray], KernelOutputs],
    outputs: KernelOutputs,
    trades: pd.DataFrame,
    weights: np.ndarray,
    rebalance: np.ndarray,
    close: np.ndarray,
    index: pd.Index,
    symbols: list[str],
    limit: int,
    fill: str,
) -> tuple[KernelOutputs, TradingStop | None]:
    """Apply the stop to one simulated portfolio.

    rerun(weights, rebalance) runs the kernel again with everything else as before; `outputs` and `trades`
    are the unrestricted run's. Returns the outputs with trading stopped (the unrestricted ones when the rule
    never engages or only at the last decision) and the stop (None = never engaged)."""
    stop = find_stop(trades, limit, index, symbols, fill)
    if stop is None:
        return outputs, None
    first = stop.bar + (1 if FILL_MODES[fill] == SAME_CLOSE else 0)
    if first >= len(index):  # stopped at the last close: nothing left to hold
        return outputs, stop
    held = hold_weights(weights, close, first)
    quiet = np.array(rebalance, dtype=np.bool_, copy=True)
    quiet[first:] = False
    return rerun(held, quiet), stop

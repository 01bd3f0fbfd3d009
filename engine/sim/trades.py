"""Round trips from the fill log: a trade opens when a position leaves 0 and closes when it returns to 0 or flips.

Adds to an open position average into the entry price; partial reductions average into the exit price.
P&L is the trade's net cash flow (fills and commissions) plus, for a trade still open after the last bar,
its units marked at the last close (exit_reason "open", no exit fee). A flip is split into a closing and an
opening part, the commission shared pro rata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine import jit
from engine.jit import njit
from engine.sim.kernels import F_BAR, F_FEE, F_PRICE, F_QTY, F_REASON, F_SYM, REASONS
from engine.sim.result import TRADE_COLUMNS

OPEN_REASON = len(REASONS)  # code of exit_reason "open"


@njit(cache=True, nogil=True)
def _build_trades(fills, order, last_close, last_bar):
    n = fills.shape[0]
    cap = n + last_close.shape[0] + 1
    out = np.full(
        (cap, 11), np.nan
    )  # sym, side, entry_bar, entry_px, exit_bar, exit_px, qty, pnl, cost, reason, exit_qty
    k = 0
    cur_sym = -1
    pos = 0.0
    open_idx = -1
    for ii in range(n):
        i = order[ii]
        sym = int(fills[i, F_SYM])
        if sym != cur_sym:
            if open_idx >= 0:  # previous symbol's trade still open at the end
                _mark_open(out, open_idx, pos, last_close[cur_sym], last_bar)
            cur_sym = sym
            pos = 0.0
            open_idx = -1
        qty = fills[i, F_QTY]
        px = fills[i, F_PRICE]
        fee = fills[i, F_FEE]
        bar = fills[i, F_BAR]
        remaining = qty
        if pos != 0.0 and (pos > 0.0) != (qty > 0.0):
            close_qty = -pos if abs(qty) >= abs(pos) else qty
            share = close_qty / qty
            _close_part(out, open_idx, close_qty, px, fee * share, bar, fills[i, F_REASON])
            pos += close_qty
            remaining = qty - close_qty
            fee = fee * (1.0 - share)
            if abs(pos) <= 1e-12 * abs(close_qty):
                pos = 0.0
            if pos == 0.0:
                open_idx = -1
        if remaining != 0.0 and abs(remaining) > 1e-15:
            if pos == 0.0:
                open_idx = k
                k += 1
                out[open_idx, 0] = sym
                out[open_idx, 1] = 1.0 if remaining > 0 else -1.0
                out[open_idx, 2] = bar
                out[open_idx, 3] = px
                out[open_idx, 6] = abs(remaining)
                out[open_idx, 7] = -remaining * px - fee
                out[open_idx, 8] = abs(remaining) * px + fee
                out[open_idx, 10] = 0.0
            else:
                old = out[open_idx, 6]
                out[open_idx, 3] = (out[open_idx, 3] * old + px * abs(remaining)) / (old + abs(remaining))
                out[open_idx, 6] = old + abs(remaining)
                out[open_idx, 7] += -remaining * px - fee
                out[open_idx, 8] += abs(remaining) * px + fee
            pos += remaining
    if open_idx >= 0:
        _mark_open(out, open_idx, pos, last_close[cur_sym], last_bar)
    return out[:k]


@njit(cache=True)
def _close_part(out, idx, close_qty, px, fee, bar, reason):
    done = out[idx, 10]
    prev_px = out[idx, 5] if done > 0 else 0.0
    out[idx, 5] = (prev_px * done + px * abs(close_qty)) / (done + abs(close_qty))
    out[idx, 10] = done + abs(close_qty)
    out[idx, 7] += -close_qty * px - fee
    out[idx, 4] = bar
    out[idx, 9] = reason


@njit(cache=True)
def _mark_open(out, idx, pos, px, last_bar):
    done = out[idx, 10]
    prev_px = out[idx, 5] if done > 0 else 0.0
    out[idx, 5] = (prev_px * done + px * abs(pos)) / (done + abs(pos))
    out[idx, 10] = done + abs(pos)
    out[idx, 7] += pos * px
    out[idx, 4] = last_bar
    out[idx, 9] = OPEN_REASON


def trade_records(fills: np.ndarray, last_close: np.ndarray, n_bars: int) -> np.ndarray:
    """Round trips as an (n, 11) array sorted by entry bar; columns: symbol, side (+1/-1), entry bar, entry
    price, exit bar, exit price, quantity, pnl, cost (entry notional + entry fees), exit reason code, units
    closed. An open trade is marked at `last_close` with exit bar n_bars - 1."""
    if fills.shape[0] == 0:
        return np.empty((0, 11))
    sym = fills[:, F_SYM]
    one_symbol = bool((sym == sym[0]).all())  # then both stable sorts keep the order they are given: skipped
    order = np.arange(fills.shape[0]) if one_symbol else np.argsort(sym, kind="stable")
    ro = jit.readonly
    raw = jit.kernel(_build_trades, fills.shape[0])(ro(fills), ro(order), ro(last_close), float(n_bars - 1))
    entry = raw[:, 2]
    if one_symbol and bool((entry[1:] >= entry[:-1]).all()):
        return raw
    return raw[np.argsort(entry, kind="stable")]


def trades_frame(records: np.ndarray, index: pd.Index, symbols: list[str]) -> pd.DataFrame:
    """The trade list (columns `engine.sim.result.TRADE_COLUMNS`) from `trade_records`."""
    if records.shape[0] == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in TRADE_COLUMNS})
    entry_bar = records[:, 2].astype(np.int64)
    exit_bar = records[:, 4].astype(np.int64)
    reasons = np.array(REASONS + ("open",), dtype=object)
    return pd.DataFrame(
        {
            "symbol": np.array(symbols, dtype=object)[records[:, 0].astype(np.int64)],
            "side": np.where(records[:, 1] > 0, "long", "short"),
            "entry_time": index[entry_bar],
            "entry_price": records[:, 3],
            "exit_time": index[exit_bar],
            "exit_price": records[:, 5],
            "quantity": records[:, 6],
            "pnl": records[:, 7],
            "return": records[:, 7] / records[:, 8],
            "bars_held": exit_bar - entry_bar,
            "exit_reason": reasons[records[:, 9].astype(np.int64)],
        }
    )

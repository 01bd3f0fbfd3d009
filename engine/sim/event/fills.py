"""What an event backtest records as it runs (fills, order events), and the per-bar outputs built from it afterwards.

The loop only appends fills; equity, cash, positions, weights, turnover and gross exposure per bar are computed
once after it from the fills and the closes (positions and cash change only at fills), in the vectorized kernel's
order of additions, so the two modes give the same numbers to the last bit on one symbol.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.sim.kernels import F_BAR, F_FEE, F_PRICE, F_QTY, F_SYM

if TYPE_CHECKING:
    from engine.sim.event.book import SimOrder

ORDER_LOG_COLUMNS: tuple[str, ...] = (
    "time",
    "event",
    "order_id",
    "client_order_id",
    "symbol",
    "side",
    "type",
    "quantity",
    "limit_price",
    "stop_price",
    "fill_price",
    "fill_quantity",
    "reason",
)
"""The order log of an event run: one row per placed / modified / canceled / expired / rejected / filled event."""


class FillLog:
    """Fills (the kernel's fill-log columns) and order events, appended during the loop."""

    def __init__(self, n_bars: int) -> None:
        self.n_bars = n_bars
        self.fills: list[tuple[int, int, float, float, float, int]] = []
        self.events: list[tuple[Any, ...]] = []

    def fill(self, t: int, j: int, qty: float, price: float, fee: float, reason: int) -> None:
        self.fills.append((t, j, qty, price, fee, reason))  # made float64 once, in fill_array

    def order_event(self, t: int, o: SimOrder, what: str, price: float = math.nan, qty: float = 0.0) -> None:
        """Note an event of `o`: its changing fields now, the rest read from the order when the log is made."""
        limit = o.limit if o.type in ("limit", "stop_limit") else math.nan
        stop = o.stop_level() if o.type in ("stop", "stop_limit", "trailing_stop") else math.nan
        self.events.append((t, what, o, o.quantity, limit, stop, price, qty, o.status_reason))

    def fill_array(self) -> np.ndarray:
        """(n, 6) fills: bar, symbol column, signed quantity, price, commission, reason (engine.sim.kernels)."""
        return np.array(self.fills, dtype=np.float64).reshape(len(self.fills), 6)

    def order_frame(self, index: pd.Index) -> pd.DataFrame:
        """The order log (ORDER_LOG_COLUMNS); `time` is the bar of the event (-1: before the first bar)."""
        rows = [
            (
                t,
                what,
                o.id,
                o.client_order_id,
                o.symbol,
                "buy" if o.side > 0 else "sell",
                o.type,
                q,
                lim,
                stop,
                p,
                n,
                why,
            )
            for t, what, o, q, lim, stop, p, n, why in self.events
        ]
        frame = pd.DataFrame(rows, columns=["bar", *ORDER_LOG_COLUMNS[1:]])
        bars = frame.pop("bar").to_numpy(dtype=np.int64)
        times = pd.Series(index[np.clip(bars, 0, len(index) - 1)], index=frame.index) if len(index) else []
        frame.insert(0, "time", times)
        return frame


def forward_filled(close: np.ndarray) -> np.ndarray:
    """`close` with each NaN replaced by the symbol's last close before it (NaN before its first bar)."""
    return pd.DataFrame(close).ffill().to_numpy(dtype=np.float64)


def outputs(
    fills: np.ndarray, close: np.ndarray, initial_cash: float, cash_by_bar: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's outputs (engine.sim.kernels.simulate_kernel) of an event run, financing excluded: equity, cash,
    positions, weights (held, at the close), turnover, gross exposure, last close, fills. `cash_by_bar`: the cash
    at each close when the loop recorded it (a run with financing); else it is rebuilt from the fills."""
    T, N = close.shape
    marked = forward_filled(close)
    bars = fills[:, F_BAR].astype(np.int64)
    cash_after = np.empty(fills.shape[0])  # cash after each fill, subtracted in fill order as the kernel does
    pos_after = np.empty(fills.shape[0])
    q = np.zeros(N)
    running = initial_cash
    for k in range(fills.shape[0]):
        running -= fills[k, F_QTY] * fills[k, F_PRICE] + fills[k, F_FEE]
        cash_after[k] = running
        j = int(fills[k, F_SYM])
        q_new = q[j] + fills[k, F_QTY]
        q[j] = 0.0 if abs(q_new) <= 1e-12 * abs(q[j]) else q_new
        pos_after[k] = q[j]
    last = np.searchsorted(bars, np.arange(T), side="right") - 1  # the last fill at or before each bar
    cash = np.concatenate(([initial_cash], cash_after))[last + 1] if cash_by_bar is None else cash_by_bar
    positions = np.zeros((T, N))
    for j in range(N):
        mine = np.flatnonzero(fills[:, F_SYM] == j)
        if mine.size:
            at = np.searchsorted(bars[mine], np.arange(T), side="right") - 1
            positions[:, j] = np.where(at >= 0, pos_after[mine][np.maximum(at, 0)], 0.0)
    held = np.where(positions != 0.0, positions * np.nan_to_num(marked), 0.0)
    equity = cash.copy()
    for j in range(N):  # the kernel adds each symbol's value in column order
        equity += held[:, j]
    traded = np.bincount(bars, weights=np.abs(fills[:, F_QTY]) * fills[:, F_PRICE], minlength=T)[:T]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(equity != 0.0, 1.0 / np.abs(equity), 0.0)
        weights = np.where(equity[:, None] != 0.0, held / equity[:, None], 0.0)
    gross = np.abs(held).sum(axis=1) * scale
    turnover = traded * scale
    last_close = marked[-1] if T else np.full(N, np.nan)
    return equity, cash, positions, weights, turnover, gross, last_close, fills

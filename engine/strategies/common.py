"""Shared building blocks of the built-in strategies: per-symbol computation, event state machines, calendars.

Every helper here is causal: the value at bar t depends on bars 0..t only, so a strategy assembled from them
passes the look-ahead audit by construction.

Bar layout: a `MarketData` holds several symbols on the union of their calendars; a symbol has NaN on rows
where it has no bar (not listed yet, or a holiday on its own calendar). Indicators are therefore computed per
symbol on its **own** bars (`per_symbol`), and the resulting weights are spread back onto the union index by
`to_union`: held (forward-filled) over rows without a bar — the last decision stands until the symbol trades
again — and 0 before the symbol's first bar.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.errors import Pandas4Warning

from engine.data.market import MarketData
from engine.errors import StrategyError


class _LazyModule:
    """`ta.<indicator>` imports pandas-ta on first use: it imports numba and ~150 indicator modules (~0.1-0.3 s
    of a fresh process), which a backtest answered from TA-Lib or the interpreter tier never needs."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            with self._lock:
                if self._module is None:
                    self._module = _import_quietly(self._name)
        return getattr(self._module, attr)


def _import_quietly(name: str) -> Any:
    """Import `name` once with pandas-ta's import-time deprecations silenced.

    pandas-ta 0.4.71b0, while importing, sets `pd.options.mode.copy_on_write` (pandas_ta/core.py) and reads
    `Timestamp.dayofyear` (pandas_ta/utils/_time.py, the `Study` class's creation date); pandas 3 deprecates both
    with a Pandas4Warning. Not our calls: those two warnings are silenced for this import only, by their exact
    message; every other warning still shows (catch_warnings is process-wide, hence once, under a lock)."""
    with warnings.catch_warnings():
        for message in (r"The 'mode\.copy_on_write' option is deprecated", r"Timestamp\.dayofyear is deprecated"):
            warnings.filterwarnings("ignore", message=message, category=Pandas4Warning)
        return importlib.import_module(name)


ta: Any = _LazyModule("pandas_ta")
"""pandas-ta, imported on first use (every built-in strategy's indicators come from it)."""

TIE_REL = 1e-9
"""Two averages within `TIE_REL * |slow|` of each other count as equal (WORKLOADS.md "Common rules" 2)."""


def per_symbol(
    data: MarketData,
    fn: Callable[[pd.DataFrame], pd.Series],
    fields: Sequence[str] = ("close",),
) -> pd.DataFrame:
    """Apply `fn` to each symbol's own bars and return a wide frame on the union index (NaN off its bars).

    `fn` gets a frame with the requested `fields` (float64, index = the symbol's own bar timestamps) and
    returns a Series (or array) on that same index. Gaps in other symbols' calendars never reach the indicator.
    """
    out = np.full(data.close.shape, np.nan)
    has_bar = data.close.notna().to_numpy()
    for j, sym in enumerate(data.close.columns):
        mask = has_bar[:, j]
        if not mask.any():
            continue
        bars = pd.DataFrame({f: data.field(f)[sym].to_numpy()[mask] for f in fields}, index=data.index[mask])
        out[mask, j] = np.asarray(fn(bars), dtype="float64")
    return pd.DataFrame(out, index=data.index, columns=data.close.columns)


def ffill(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs along axis 0 of a 1-D or 2-D float array (leading NaNs stay NaN). Causal."""
    values = np.asarray(values, dtype="float64")
    rows = np.arange(len(values)).reshape((-1,) + (1,) * (values.ndim - 1))
    idx = np.where(np.isnan(values), -1, rows)
    np.maximum.accumulate(idx, axis=0, out=idx)
    picked = np.take_along_axis(values, np.maximum(idx, 0), axis=0)
    return np.where(idx >= 0, picked, np.nan)


def to_union(own: pd.DataFrame, data: MarketData) -> pd.DataFrame:
    """Weights decided on own bars -> weights on every union row: held over gaps, 0 before the first bar.

    `own` has NaN where a symbol has no bar; a NaN on a bar the symbol does have is read as 0 (warm-up).
    """
    w = union_weights(own.to_numpy(dtype="float64"), data.close.notna().to_numpy())
    return pd.DataFrame(w, index=own.index, columns=own.columns)


def union_weights(own: np.ndarray, has_bar: np.ndarray) -> np.ndarray:
    """Array form of `to_union`: NaN on a symbol's own bar -> 0, held over rows without a bar, 0 before."""
    w = own.copy()
    w[np.isnan(w) & has_bar] = 0.0
    if has_bar.all():
        return w
    return np.ascontiguousarray(np.nan_to_num(ffill(w), nan=0.0))


def indicator(values: pd.Series | pd.DataFrame | None, index: pd.Index) -> pd.Series | pd.DataFrame:
    """A pandas-ta result, or all-NaN on `index` when pandas-ta returned None (series shorter than the window)."""
    if values is None:
        return pd.Series(np.nan, index=index, dtype="float64")
    return values


def indicator_frame(values: pd.DataFrame | None, index: pd.Index, n_cols: int) -> pd.DataFrame:
    """Like `indicator` for multi-column pandas-ta results (bbands, macd, donchian): positional columns."""
    if values is None:
        return pd.DataFrame(np.nan, index=index, columns=range(n_cols), dtype="float64")
    return values.set_axis(range(values.shape[1]), axis=1)


def cross_state(fast: np.ndarray, slow: np.ndarray, tie_rel: float = TIE_REL) -> np.ndarray:
    """State per bar: +1 fast above slow, -1 below, 0 when either is undefined or they tie.

    Tie: |fast - slow| <= tie_rel * |slow| (WORKLOADS.md "Common rules" 2).
    """
    fast = np.asarray(fast, dtype="float64")
    slow = np.asarray(slow, dtype="float64")
    state = np.zeros(len(fast), dtype="float64")
    with np.errstate(invalid="ignore"):
        defined = ~(np.isnan(fast) | np.isnan(slow))
        tie = np.abs(fast - slow) <= tie_rel * np.abs(slow)
        state[defined & ~tie & (fast > slow)] = 1.0
        state[defined & ~tie & (fast < slow)] = -1.0
    return state


def crossings(state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cross_up, cross_down) booleans from a +1/-1/0 state.

    Cross-up at t: state[t] = +1 and the last non-zero state before t was -1; cross-down mirrors it
    (WORKLOADS.md "Common rules" 3). A +1 with no earlier -1 is not a cross.
    """
    s = np.asarray(state, dtype="float64")
    last_nonzero = ffill(np.where(s != 0, s, np.nan))
    prev_nonzero = np.empty_like(last_nonzero)
    prev_nonzero[:1] = np.nan
    prev_nonzero[1:] = last_nonzero[:-1]
    up = (s == 1.0) & (prev_nonzero == -1.0)
    down = (s == -1.0) & (prev_nonzero == 1.0)
    return up, down


def hold(
    long_entry: np.ndarray,
    long_exit: np.ndarray,
    short_entry: np.ndarray | None = None,
    short_exit: np.ndarray | None = None,
) -> np.ndarray:
    """Position per bar (+1 long, -1 short, 0 flat) from entry/exit events, without pyramiding.

    Long from a long entry until a long exit; short (if short events are given) from a short entry until a
    short exit; an entry on the opposite side flips the position. Exits while not in that position are
    ignored. Entry wins over an exit on the same bar (the built-ins never produce both).
    """
    n = len(long_entry)
    no = np.zeros(n, dtype=bool)
    short_entry = no if short_entry is None else np.asarray(short_entry, dtype=bool)
    short_exit = no if short_exit is None else np.asarray(short_exit, dtype=bool)
    long_entry = np.asarray(long_entry, dtype=bool)
    long_exit = np.asarray(long_exit, dtype=bool)

    def leg(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
        ev = np.full(n, np.nan)
        ev[leave] = 0.0
        ev[enter] = 1.0
        return np.nan_to_num(ffill(ev), nan=0.0)

    longs = leg(long_entry, long_exit | short_entry)
    shorts = leg(short_entry, short_exit | long_entry)
    return longs - shorts


def first_bar_of_month(index: pd.Index) -> np.ndarray:
    """True on the first bar of each calendar month (never on bar 0, which has no earlier bar to compare).

    Monthly strategies decide at the close of this bar: the first close after a month end. Knowing that bar t
    is the *last* bar of its month needs bar t+1, which would be look-ahead.
    """
    idx = pd.DatetimeIndex(index)
    if len(idx) == 0:
        return np.zeros(0, dtype=bool)
    period = idx.year.to_numpy() * 12 + idx.month.to_numpy()
    out = np.zeros(len(idx), dtype=bool)
    out[1:] = period[1:] != period[:-1]
    return out


def require_symbols(name: str, data: MarketData, at_least: int) -> None:
    """Raise StrategyError unless `data` holds at least `at_least` symbols."""
    if len(data.symbols) < at_least:
        raise StrategyError(f"{name} needs at least {at_least} symbols, got {len(data.symbols)}: {data.symbols}")

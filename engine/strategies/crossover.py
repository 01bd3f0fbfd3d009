"""Moving-average crossover strategies: `sma_cross` and `ema_cross`.

Rules (exactly WORKLOADS.md "Common rules" 1-4), per symbol on its own bars:
1. fast = MA(close, fast), slow = MA(close, slow) (pandas-ta, through TA-Lib for the SMA; undefined for the
   first window-1 bars).
2. state[t] = +1 if fast > slow, -1 if fast < slow, 0 if undefined or tied (|fast - slow| <= 1e-9 * |slow|).
3. Cross-up at t: state +1 and the last non-zero state before t was -1; cross-down mirrors it. A +1 right
   after warm-up with no earlier -1 is NOT an entry.
4. Long `weight` from a cross-up until a cross-down, then flat (or `-weight` until the next cross-up when
   `allow_short`). Decided at the close of bar t; the simulator fills at the next bar.

Several symbols: each symbol trades its own signal with `weight / n_symbols` (n = columns of the data, fixed,
so a symbol not listed yet leaves its share in cash, like the W4 shared-cash workload).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from engine import jit
from engine.data.market import MarketData
from engine.jit import njit
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import TIE_REL, indicator, per_symbol, ta, union_weights

try:
    import talib as _talib

    _TALIB: dict[str, Callable[[np.ndarray, int], np.ndarray]] | None = {"SMA": _talib.SMA}
except ImportError:  # TA-Lib is a dependency, but pandas-ta works without it: fall back to pandas-ta's own
    _TALIB = None


def _check(fast: int, slow: int, weight: float) -> None:
    require(fast >= 1, f"fast must be >= 1 bar, got {fast}")
    require(slow >= 2, f"slow must be >= 2 bars, got {slow}")
    require(fast < slow, f"fast ({fast}) must be shorter than slow ({slow})")
    require(0 < weight <= 10, f"weight must be in (0, 10], got {weight}")


@njit(cache=True, nogil=True)
def cross_step(f: float, s: float, tie_rel: float, allow_short: bool, last: float, pos: float) -> tuple[float, float]:
    """One bar of rules 2-4: (last non-zero state, position +1/0/-1) after the bar's fast `f` and slow `s`."""
    state = 0.0
    if not (np.isnan(f) or np.isnan(s)) and abs(f - s) > tie_rel * abs(s):
        state = 1.0 if f > s else -1.0
    if state == 1.0 and last == -1.0:
        pos = 1.0
    elif state == -1.0 and last == 1.0:
        pos = -1.0 if allow_short else 0.0
    if state != 0.0:
        last = state
    return last, pos


@njit(cache=True, nogil=True)
def cross_positions(fast: np.ndarray, slow: np.ndarray, tie_rel: float, allow_short: bool, scale: float) -> np.ndarray:
    """+1/0(/-1) per bar by rules 2-4 in one causal pass (the same as hold(crossings(cross_state(...)))), times
    `scale`: the weights themselves, without a second array for the product."""
    n = fast.shape[0]
    out = np.empty(n)
    last = 0.0
    pos = 0.0
    for t in range(n):
        last, pos = cross_step(fast[t], slow[t], tie_rel, allow_short, last, pos)
        out[t] = pos * scale
    return out


@jit.numpy_twin(cross_positions)
def _cross_positions_numpy(
    fast: np.ndarray, slow: np.ndarray, tie_rel: float, allow_short: bool, scale: float
) -> np.ndarray:
    """`cross_positions` in whole-array numpy calls for the interpreted tier (~50x the loop interpreted), the same
    numbers: each bar's state, the last non-zero state before it, the bars where the position changes (a cross
    up or down) and the position carried forward from them, times `scale`."""
    n = fast.shape[0]
    bars = np.arange(n)
    with np.errstate(invalid="ignore"):
        state = np.where(np.abs(fast - slow) > tie_rel * np.abs(slow), np.where(fast > slow, 1.0, -1.0), 0.0)
    state[np.isnan(fast) | np.isnan(slow)] = 0.0
    latest = np.maximum.accumulate(np.where(state != 0.0, bars, -1))  # the last bar with a state, up to t
    before = np.zeros(n)
    before[1:] = np.where(latest[:-1] >= 0, state[np.maximum(latest[:-1], 0)], 0.0)
    up = (state == 1.0) & (before == -1.0)
    down = (state == -1.0) & (before == 1.0)
    moved = np.where(up, 1.0, -1.0 if allow_short else 0.0)
    last_move = np.maximum.accumulate(np.where(up | down, bars, -1))
    pos = np.where(last_move >= 0, moved[np.maximum(last_move, 0)], 0.0)
    return pos * scale


@dataclass(frozen=True)
class CrossoverGrid:
    """What a compiled grid needs to run many crossover sets on one symbol without their weights
    (engine.sim.grid_cross): each distinct moving average once, and per set the rows of its two lines.

    lines: (L, bars) moving averages; fast, slow: (K,) int64 rows of each set's lines; weight: (K,) the
    weight held in a position; allow_short: (K,) bool; tie_rel: the tie rule's relative tolerance."""

    lines: np.ndarray
    fast: np.ndarray
    slow: np.ndarray
    weight: np.ndarray
    allow_short: np.ndarray
    tie_rel: float


class _MovingAverageCross(Strategy):
    """Common body of the crossover strategies; subclasses pick the moving average."""

    ma: ClassVar[str]
    """The pandas-ta moving average, by name ("sma", "ema")."""
    #: let pandas-ta use TA-Lib's C kernel when installed: True only where its values equal pandas-ta's own
    #: (SMA: an O(n) running sum instead of pandas-ta's O(n * window) `np.convolve`, equal to ~1e-13).
    talib: ClassVar[bool] = False

    def weight_values(self, data: MarketData) -> np.ndarray | None:
        many = self.grid_weights(data, [self.params])
        return None if many is None else many[0]

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return pd.DataFrame(self._weights(data, [self.params])[0], index=data.index, columns=data.close.columns)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The fast and the slow moving average of each symbol's own closes, as the crossover reads them."""
        label = self.ma.upper()

        def line(window: int) -> PlotSeries:
            return PlotSeries(
                per_symbol(data, lambda bars: self.average(np.ascontiguousarray(bars["close"].to_numpy()), window))
            )

        return {
            f"{label} {self.params.fast}": line(self.params.fast),
            f"{label} {self.params.slow}": line(self.params.slow),
        }

    @classmethod
    def average(cls, close: np.ndarray, window: int) -> np.ndarray:
        """pandas-ta's `cls.ma` of `close` over `window` bars as a float64 array (NaN during warm-up, all NaN
        when too short).

        With `talib` set and TA-Lib installed, TA-Lib's function on the array directly: the very call
        pandas-ta makes for `talib=True`, without its Series wrapping (~0.2 ms per call, more than the
        average itself on 8,000 bars); tests hold the two equal.
        """
        direct = _TALIB.get(cls.ma.upper()) if cls.talib and _TALIB is not None and window > 1 else None
        if direct is not None:
            if len(close) < window:  # pandas-ta returns None here
                return np.full(len(close), np.nan)
            return direct(close, window)
        series = pd.Series(close)
        average = getattr(ta, cls.ma)(series, length=window, talib=cls.talib)
        return np.ascontiguousarray(indicator(average, series.index).to_numpy(dtype="float64"))

    @classmethod
    def grid_weights(cls, data: MarketData, params_list: Sequence[Any]) -> list[np.ndarray] | None:
        """Weights (bars x symbols) for many parameter sets, each distinct moving average computed once.

        Used by `engine.sim.grid` for fast parameter sweeps and by the simulator (`weight_values`);
        `target_weights` is the one-set case, so they can never disagree. None for a subclass that overrides
        `target_weights`: its own weights are the ones traded.
        """
        if cls.target_weights is not _MovingAverageCross.target_weights:
            return None
        return cls._weights(data, params_list)

    @classmethod
    def grid_crossover(cls, data: MarketData, params_list: Sequence[Any]) -> CrossoverGrid | None:
        """The sets of a grid on one symbol as a `CrossoverGrid` (the crossover rules of the module docstring,
        positions times `weight`), or None where the weights are not these rules' (a subclass overriding
        `target_weights`) or the data is not one symbol with a close on every bar."""
        if cls.target_weights is not _MovingAverageCross.target_weights or len(data.symbols) != 1:
            return None
        close = np.ascontiguousarray(data.close.to_numpy(dtype="float64")[:, 0])
        if np.isnan(close).any():
            return None
        windows = sorted({p.fast for p in params_list} | {p.slow for p in params_list})
        row = {w: i for i, w in enumerate(windows)}
        lines = np.empty((len(windows), len(close)))
        for w, i in row.items():
            lines[i] = cls.average(close, w)
        return CrossoverGrid(
            lines=lines,
            fast=np.array([row[p.fast] for p in params_list], dtype=np.int64),
            slow=np.array([row[p.slow] for p in params_list], dtype=np.int64),
            weight=np.array([p.weight / 1 for p in params_list], dtype=np.float64),  # / n_symbols, as _weights
            allow_short=np.array([bool(p.allow_short) for p in params_list], dtype=np.bool_),
            tie_rel=float(TIE_REL),
        )

    @classmethod
    def _weights(cls, data: MarketData, params_list: Sequence[Any]) -> list[np.ndarray]:
        """`grid_weights` for any (sub)class: the crossover rules of the module docstring."""
        closes = data.close.to_numpy(dtype="float64")
        every_bar = not np.isnan(closes).any()
        has_bar = np.ones(closes.shape, dtype=bool) if every_bar else ~np.isnan(closes)
        windows = sorted({p.fast for p in params_list} | {p.slow for p in params_list})
        averages = []
        for j in range(closes.shape[1]):
            mask = has_bar[:, j]
            # the symbol's own bars; positions only (the averages' timestamps are never read)
            close = np.ascontiguousarray(closes[:, j] if every_bar else closes[mask, j])
            mas = {w: cls.average(close, w) for w in windows}
            averages.append((mask, mas))
        n_sym = len(data.symbols)
        cross = jit.kernel(cross_positions, data.close.size * len(params_list))
        out = []
        for p in params_list:
            if every_bar and n_sym == 1:  # the one column is the weights array itself
                mas = averages[0][1]
                pos = cross(jit.readonly(mas[p.fast]), jit.readonly(mas[p.slow]), TIE_REL, p.allow_short, p.weight)
                out.append(pos[:, None])
                continue
            own = np.empty(data.close.shape) if every_bar else np.full(data.close.shape, np.nan)
            for j, (mask, mas) in enumerate(averages):
                fast, slow = jit.readonly(mas[p.fast]), jit.readonly(mas[p.slow])
                pos = cross(fast, slow, TIE_REL, p.allow_short, p.weight / n_sym)
                if every_bar:
                    own[:, j] = pos
                elif mask.any():
                    own[mask, j] = pos
            out.append(own if every_bar else union_weights(own, has_bar))
        return out


class SmaCross(_MovingAverageCross):
    """Simple-moving-average crossover (the W1-W5 benchmark strategy)."""

    name = "sma_cross"
    description = "Long from a fast/slow SMA cross-up to the next cross-down (optional short)."
    ma = "sma"
    talib = True

    @dataclass(frozen=True)
    class Params:
        fast: int = param(10, 5, 100, 5, doc="fast SMA window, bars")
        slow: int = param(50, 10, 500, 10, doc="slow SMA window, bars")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while in a position (split over symbols)")
        allow_short: bool = param(False, choices=(False, True), doc="hold -weight from a cross-down to a cross-up")

        def __post_init__(self) -> None:
            _check(self.fast, self.slow, self.weight)


class EmaCross(_MovingAverageCross):
    """Exponential-moving-average crossover, same rules as `sma_cross`."""

    name = "ema_cross"
    description = "Long from a fast/slow EMA cross-up to the next cross-down (optional short)."
    ma = "ema"

    @dataclass(frozen=True)
    class Params:
        fast: int = param(12, 5, 100, 5, doc="fast EMA span, bars")
        slow: int = param(26, 10, 500, 10, doc="slow EMA span, bars")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while in a position (split over symbols)")
        allow_short: bool = param(False, choices=(False, True), doc="hold -weight from a cross-down to a cross-up")

        def __post_init__(self) -> None:
            _check(self.fast, self.slow, self.weight)

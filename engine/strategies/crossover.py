"""Moving-average crossover strategies: `sma_cross` and `ema_cross`.

Rules (exactly WORKLOADS.md "Common rules" 1-4), per symbol on its own bars:
1. fast = MA(close, fast), slow = MA(close, slow) (pandas-ta; undefined for the first window-1 bars).
2. state[t] = +1 if fast > slow, -1 if fast < slow, 0 if undefined or tied (|fast - slow| <= 1e-9 * |slow|).
3. Cross-up at t: state +1 and the last non-zero state before t was -1; cross-down mirrors it. A +1 right
   after warm-up with no earlier -1 is NOT an entry.
4. Long `weight` from a cross-up until a cross-down, then flat (or `-weight` until the next cross-up when
   `allow_short`). Decided at the close of bar t; the simulator fills at the next bar.

Several symbols: each symbol trades its own signal with `weight / n_symbols` (n = columns of the data, fixed,
so a symbol not listed yet leaves its share in cash, like the W4 shared-cash workload).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
import pandas as pd
import pandas_ta as ta

from engine.data.market import MarketData
from engine.strategies.base import Strategy, param, require
from engine.strategies.common import cross_state, crossings, hold, indicator, per_symbol, to_union


def _check(fast: int, slow: int, weight: float) -> None:
    require(fast >= 1, f"fast must be >= 1 bar, got {fast}")
    require(slow >= 2, f"slow must be >= 2 bars, got {slow}")
    require(fast < slow, f"fast ({fast}) must be shorter than slow ({slow})")
    require(0 < weight <= 10, f"weight must be in (0, 10], got {weight}")


class _MovingAverageCross(Strategy):
    """Common body of the crossover strategies; subclasses pick the moving average."""

    ma: ClassVar[Callable[..., pd.Series | None]]

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        ma = type(self).ma
        size = p.weight / len(data.symbols)

        def one(bars: pd.DataFrame) -> pd.Series:
            close = bars["close"]
            fast = indicator(ma(close, length=p.fast, talib=False), close.index)
            slow = indicator(ma(close, length=p.slow, talib=False), close.index)
            up, down = crossings(cross_state(fast.to_numpy(), slow.to_numpy()))
            if p.allow_short:
                pos = hold(up, np.zeros_like(up), down, np.zeros_like(down))
            else:
                pos = hold(up, down)
            return pd.Series(pos * size, index=close.index)

        return to_union(per_symbol(data, one), data)


class SmaCross(_MovingAverageCross):
    """Simple-moving-average crossover (the W1-W5 benchmark strategy)."""

    name = "sma_cross"
    description = "Long from a fast/slow SMA cross-up to the next cross-down (optional short)."
    ma = staticmethod(ta.sma)

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
    ma = staticmethod(ta.ema)

    @dataclass(frozen=True)
    class Params:
        fast: int = param(12, 5, 100, 5, doc="fast EMA span, bars")
        slow: int = param(26, 10, 500, 10, doc="slow EMA span, bars")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while in a position (split over symbols)")
        allow_short: bool = param(False, choices=(False, True), doc="hold -weight from a cross-down to a cross-up")

        def __post_init__(self) -> None:
            _check(self.fast, self.slow, self.weight)

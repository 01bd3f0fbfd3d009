"""`LiveContext`: the event strategy's `Context` on data that grows: `refresh(data)` after new bars closed.

An indicator is computed once on the whole series (engine.sim.event.context); live, the series gets longer, so
every indicator and price line the strategy declared is recomputed on the longer data in place: the `Line`
objects the strategy holds stay the same and keep their look-ahead guard. The strategy's indicator functions
are causal (the look-ahead audit checks it), so the values of past bars do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.sim.event.context import Context, Line


class LiveContext(Context):
    """A `Context` that remembers what it computed, so `refresh` can recompute it on longer data."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._live_lines: list[tuple[Callable[[MarketData], np.ndarray], Line]] = []

    def indicator(self, fn: Callable[[pd.DataFrame], Any], symbol: str | None = None, name: str = "") -> Line:
        line = super().indicator(fn, symbol, name)
        sym = symbol or self.symbols[0]
        self._live_lines.append((lambda data: self._values_of(fn, sym, name), line))
        return line

    def line(self, field: str = "close", symbol: str | None = None) -> Line:
        line = super().line(field, symbol)
        sym = symbol or self.symbols[0]
        self._live_lines.append((lambda data: getattr(data, field)[sym].to_numpy(dtype=np.float64), line))
        return line

    def _values_of(self, fn: Callable[[pd.DataFrame], Any], symbol: str, name: str) -> np.ndarray:
        """The values `Context.indicator` computes, on the current data."""
        declared = getattr(self, "_declared", None)
        known = len(declared) if declared is not None else 0
        probe = Context.indicator(self, fn, symbol, name)
        if declared is not None:
            del declared[known:]  # the probe is not a declaration of the strategy
        return np.asarray(probe._values, dtype=np.float64)

    def refresh(self, data: MarketData) -> None:
        """Take `data` (the same symbols, more bars) and recompute every declared line on it."""
        if list(data.symbols) != self.symbols:
            raise ValueError(f"refresh: symbols {list(data.symbols)} differ from the run's {self.symbols}")
        i, symbol, sequence = self.i, self.symbol, getattr(self, "_sequence", None)
        Context.__init__(self, self.broker, data, self.tag, self.state)  # every cache of the base made anew
        self.i, self.symbol = i, symbol
        if sequence is not None:
            self._sequence = sequence  # client order id numbers of the bars seen so far stay taken
        for compute, line in self._live_lines:
            line._values = list(compute(data))

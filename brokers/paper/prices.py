"""Price sources of the paper broker: callables symbols -> {symbol: latest price}.

The default is the last close of the engine's default data source (workspace imports, then the bundled sample),
so on daily data a paper order fills at the most recent close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from brokers.base import PriceUnavailable
from engine.data import load_market_data
from engine.errors import EngineError

PriceSource = Callable[[Sequence[str]], Mapping[str, float]]
BarSource = Callable[[str], pd.DataFrame]
"""symbol -> its bars: columns open, high, low, close; ascending timestamps (resting-order triggers)."""


def engine_last_close(symbols: Sequence[str]) -> dict[str, float]:
    """Default price source: each symbol's last non-NaN close in the engine's default data source."""
    try:
        data = load_market_data(list(symbols))
    except EngineError as e:
        raise PriceUnavailable(f"no price for {list(symbols)}: {e}") from e
    out: dict[str, float] = {}
    for sym in symbols:
        if sym in data.close.columns:
            col = data.close[sym].dropna()
            if len(col):
                out[sym] = float(col.iloc[-1])
    return out


class StaticPrices:
    """A fixed price table usable as a `price_source` (tests, dry runs). Picklable for subprocesses."""

    def __init__(self, prices: Mapping[str, float]) -> None:
        self.prices = dict(prices)

    def __call__(self, symbols: Sequence[str]) -> dict[str, float]:
        return {s: self.prices[s] for s in symbols if s in self.prices}


def engine_bars(symbol: str) -> pd.DataFrame:
    """Default bar source: the symbol's open/high/low/close in the engine's default data source."""
    try:
        data = load_market_data([symbol])
    except EngineError as e:
        raise PriceUnavailable(f"no bars for {symbol!r}: {e}") from e
    if symbol not in data.close.columns:
        raise PriceUnavailable(f"no bars for {symbol!r} in the data source")
    frame = pd.DataFrame({k: getattr(data, k)[symbol] for k in ("open", "high", "low", "close")})
    return frame.dropna(subset=["close"])


class StaticBars:
    """A mutable bar table usable as a `bar_source` (tests): {symbol: frame}; replace a frame to add bars."""

    def __init__(self, bars: Mapping[str, pd.DataFrame]) -> None:
        self.bars = dict(bars)

    def __call__(self, symbol: str) -> pd.DataFrame:
        if symbol not in self.bars:
            raise PriceUnavailable(f"no bars for {symbol!r}")
        return self.bars[symbol]

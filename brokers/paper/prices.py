"""Price sources of the paper broker: callables symbols -> {symbol: latest price}.

The default is the last close of the engine's default data source (workspace imports, then the bundled sample),
so on daily data a paper order fills at the most recent close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from brokers.base import PriceUnavailable
from engine.data import load_market_data
from engine.errors import EngineError

PriceSource = Callable[[Sequence[str]], Mapping[str, float]]


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

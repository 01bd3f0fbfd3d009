"""Synthetic bars for the regime and new-strategy tests: prices built from chosen returns, OHLC all equal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.market import MarketData


def bars(close: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """One symbol's OHLCV frame with open = high = low = close (volume 1)."""
    c = np.asarray(close, dtype="float64")
    return pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": np.ones(len(c))}, index=index)


def market_of(closes: dict[str, np.ndarray], start: str = "2020-01-01") -> MarketData:
    """MarketData of several symbols on one business-day calendar."""
    n = len(next(iter(closes.values())))
    index = pd.bdate_range(start, periods=n)
    return MarketData.from_frames({s: bars(c, index) for s, c in closes.items()})


def two_regime_prices(n_calm: int = 250, n_wild: int = 100, seed: int = 7) -> np.ndarray:
    """Prices whose daily returns are N(0.05%, 0.5%) for n_calm bars, then N(-0.1%, 2.5%), then calm again."""
    rng = np.random.default_rng(seed)
    r = np.concatenate(
        [rng.normal(0.0005, 0.005, n_calm), rng.normal(-0.001, 0.025, n_wild), rng.normal(0.0005, 0.005, n_calm)]
    )
    return 100.0 * np.cumprod(np.r_[1.0, 1.0 + r])

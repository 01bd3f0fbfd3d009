"""Small hand-made data and a fixed-weights strategy for the sizing overlay tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import Strategy


def bars(closes: dict[str, list[float]], spread: float = 0.01) -> MarketData:
    """Daily bars from closes: open = close, high / low = close x (1 +- spread)."""
    index = pd.bdate_range("2021-01-04", periods=len(next(iter(closes.values()))))
    frames = {}
    for sym, values in closes.items():
        c = np.asarray(values, dtype="float64")
        frames[sym] = pd.DataFrame(
            {"open": c, "high": c * (1 + spread), "low": c * (1 - spread), "close": c, "volume": 1e6}, index=index
        )
    return MarketData.from_frames(frames)


class Fixed(Strategy):
    """Target weights given as an array (rows = bars): whatever the test needs."""

    name = "fixed_weights"

    @dataclass(frozen=True)
    class Params:
        pass

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        self.weights = np.asarray(weights, dtype="float64")

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return pd.DataFrame(self.weights[: len(data)], index=data.index, columns=data.close.columns)

"""One module per engine. Each has `prepare(inputs) -> dict[workload, zero-argument callable]`.

Every engine starts from the same loaded pandas frames (`Inputs`): its conversion into its own containers
(IvyBT's MarketData, backtesting.py's capitalized columns; vectorbt takes the frames' Series as they are) is
inside the timed callable, except in the "sim only" cells. Each callable is convert + construct + run +
extract metrics and returns a `benchmarks.workloads.Outcome` or `GridOutcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass
class Inputs:
    """The loaded bars every engine starts from (float64 OHLCV frames, see workloads.read_frame).

    frames: every symbol of the data folder (W4), sorted by name; grid: the W1/W2/W3/W6 symbol (SPY);
    w5: the 1,000,000-bar series (integer index).
    """

    data_dir: Path
    frames: dict[str, pd.DataFrame]
    grid_symbol: str
    w5: pd.DataFrame | None = None

    @property
    def grid(self) -> pd.DataFrame:
        return self.frames[self.grid_symbol]

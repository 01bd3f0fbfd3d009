"""Holes in a symbol's data: stretches with no bar longer than a few trading days, reported as warnings.

A missing day or two is normal (holidays, halts); a hole of months or years (a delisting and relisting, a file
stitched from two sources, a download that skipped a range) is not, and a backtest run across it silently
treats the hole as one bar-to-bar move. `data_gaps` finds every hole between a symbol's first and last bar
longer than `gap_days()` trading days (weekdays without a bar; IVYBT_DATA_GAP_DAYS overrides the default),
and `gap_warnings` words them for the result, the CLI and the Backtest page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import ConfigError

GAP_ENV = "IVYBT_DATA_GAP_DAYS"
DEFAULT_GAP_DAYS = 10
"""Holes longer than this many trading days (weekdays without a bar) are reported: two weeks is longer than any
market closure of the sample's history (9/11 closed NYSE for 4 days)."""


@dataclass(frozen=True)
class DataGap:
    """No bar of `symbol` after `last_before` until `first_after`: `trading_days` weekdays missing."""

    symbol: str
    last_before: pd.Timestamp
    first_after: pd.Timestamp
    trading_days: int

    def message(self) -> str:
        years = (self.first_after - self.last_before).days / 365.25
        span = f"{years:.1f} years" if years >= 1 else f"{(self.first_after - self.last_before).days} calendar days"
        return (
            f"data gap: {self.symbol} has no bars for {self.trading_days} trading days ({span}) between "
            f"{self.last_before:%Y-%m-%d} and {self.first_after:%Y-%m-%d}; the backtest treats it as one step"
        )


def gap_days() -> int:
    """The longest hole (in trading days) not reported: IVYBT_DATA_GAP_DAYS, else DEFAULT_GAP_DAYS."""
    raw = os.environ.get(GAP_ENV, "").strip()
    if not raw:
        return DEFAULT_GAP_DAYS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{GAP_ENV}={raw!r}: must be a whole number of trading days >= 1")
    return int(raw)


def data_gaps(data: MarketData, max_days: int | None = None) -> list[DataGap]:
    """Every hole longer than max_days (default `gap_days()`) trading days between a symbol's first and last bar."""
    limit = gap_days() if max_days is None else max_days
    days = data.index.values.astype("datetime64[D]")
    out = []
    for symbol in data.symbols:
        have = days[~np.isnan(data.close[symbol].to_numpy())]
        if len(have) < 2:
            continue
        missing = np.busday_count(have[:-1] + 1, have[1:])  # weekdays strictly between consecutive bars
        for i in np.flatnonzero(missing > limit):
            out.append(DataGap(symbol, pd.Timestamp(have[i]), pd.Timestamp(have[i + 1]), int(missing[i])))
    return out


def gap_warnings(data: MarketData, max_days: int | None = None) -> list[str]:
    """`data_gaps` as one line each."""
    return [gap.message() for gap in data_gaps(data, max_days)]

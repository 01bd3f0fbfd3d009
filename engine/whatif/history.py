"""What a scenario reads from daily data: each symbol's beta to a benchmark and its vol over the benchmark's.

Both come from daily close-to-close returns on the benchmark's bars, the last `lookback` of them up to the last
bar at or before the as-of date (never a later bar): beta = cov(r_symbol, r_bench) / var(r_bench), the vol
ratio = std(r_symbol) / std(r_bench), over the days both have a return (both 1 for the benchmark itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data import DataSource, get_source, load_market_data
from engine.errors import DataError

MIN_PAIRS = 20
"""Fewer common daily returns than this is too little to estimate a beta or a vol ratio from."""


def load_closes(
    symbols: Sequence[str], benchmark: str, asof: dt.date, source: DataSource | str | Path | None = None
) -> pd.DataFrame:
    """Daily closes of the symbols and the benchmark up to `asof` (the workspace's data, else the bundled sample)."""
    wanted = list(dict.fromkeys([benchmark.upper(), *(s.upper() for s in symbols)]))
    return load_market_data(wanted, end=asof, source=get_source(source)).close


def _pairs(close: pd.DataFrame, symbol: str, benchmark: str, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    for name in (symbol, benchmark):
        if name not in close.columns:
            raise DataError(f"no daily data for {name} (import it with `ivybt data import`)")
    on_bench = close[close[benchmark].notna()]
    returns = (
        on_bench[list(dict.fromkeys([symbol, benchmark]))].pct_change(fill_method=None).iloc[1:].tail(lookback).dropna()
    )
    if len(returns) < MIN_PAIRS:
        raise DataError(
            f"{symbol} vs {benchmark}: {len(returns)} common daily returns in the last {lookback} bars, need {MIN_PAIRS}"
        )
    return returns[symbol].to_numpy(float), returns[benchmark].to_numpy(float)  # the same array for the benchmark


def betas(close: pd.DataFrame, symbols: Sequence[str], benchmark: str, lookback: int) -> dict[str, float]:
    """symbol -> beta to the benchmark over the last `lookback` daily returns (the benchmark's own is 1)."""
    out = {}
    for symbol in dict.fromkeys(s.upper() for s in symbols):
        rs, rb = _pairs(close, symbol, benchmark.upper(), lookback)
        out[symbol] = 1.0 if symbol == benchmark.upper() else float(np.cov(rs, rb)[0, 1] / np.var(rb, ddof=1))
    return out


def vol_ratios(close: pd.DataFrame, symbols: Sequence[str], benchmark: str, lookback: int) -> dict[str, float]:
    """symbol -> std of its daily returns / the benchmark's, over the days both have one."""
    out = {}
    for symbol in dict.fromkeys(s.upper() for s in symbols):
        rs, rb = _pairs(close, symbol, benchmark.upper(), lookback)
        out[symbol] = 1.0 if symbol == benchmark.upper() else float(np.std(rs, ddof=1) / np.std(rb, ddof=1))
    return out

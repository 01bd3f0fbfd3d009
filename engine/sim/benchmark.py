"""The benchmark a run is measured against: buy-and-hold of one symbol, or an equal weight of the run's symbols.

`config.benchmark` None means `DEFAULT_BENCHMARK` (SPY): `engine.request.run_request` loads it untraded when the
run does not hold it, and when the data has no SPY (or outside `run_request`, when SPY is not among the loaded
symbols) the benchmark is `EQUAL_WEIGHT`. The benchmark's name is on its equity series ("benchmark SPY",
"benchmark equal weight (QQQ, TLT)"), so a stored run, the page and the CLI all say which one it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine import jit
from engine.config import DEFAULT_BENCHMARK, EQUAL_WEIGHT
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.jit import njit
from engine.strategies.common import ffill

SERIES_PREFIX = "benchmark "


def resolve_benchmark(choice: str | None, symbols: Sequence[str]) -> str:
    """The benchmark used for `choice` over the loaded `symbols`: the symbol itself, EQUAL_WEIGHT, or for None
    DEFAULT_BENCHMARK when it is loaded, else EQUAL_WEIGHT."""
    if choice is None:
        return DEFAULT_BENCHMARK if DEFAULT_BENCHMARK in symbols else EQUAL_WEIGHT
    return choice


def benchmark_name(choice: str, symbols: Sequence[str]) -> str:
    """How a resolved benchmark reads: "SPY", or "equal weight (QQQ, TLT)"."""
    return f"equal weight ({', '.join(symbols)})" if choice == EQUAL_WEIGHT else choice


@njit(cache=True, nogil=True)
def held_from_first(close, cash):
    """(cash * close[t] / close[0] for every bar, whether any close is NaN): the buy-and-hold curve of a series
    without gaps in one pass (numpy's three passes cost ~1 ms at 1M bars); with a NaN the caller takes the
    forward-filled path instead."""
    n = close.shape[0]
    out = np.empty(n)
    c0 = close[0]
    gap = False
    for t in range(n):
        c = close[t]
        gap |= c != c
        out[t] = cash * c / c0
    return out, gap


@jit.numpy_twin(held_from_first)
def _held_from_first_numpy(close: np.ndarray, cash: float) -> tuple[np.ndarray, bool]:
    """`held_from_first` in numpy (the interpreted tier), the same numbers: (cash * close) / close[0]."""
    out = cash * close
    out /= close[0]
    return out, bool(np.isnan(close).any())


def buy_and_hold_values(close: np.ndarray, initial_cash: float) -> np.ndarray:
    """Equity of buying at the first close and holding: cash before it, held over NaN closes."""
    if len(close) and close.flags.c_contiguous:  # the usual case: one pass when no close is missing
        out, gap = jit.kernel(held_from_first, len(close))(jit.readonly(close), float(initial_cash))
        if not gap:
            return out
    if np.isnan(close).any():
        close = ffill(close)
        valid = np.flatnonzero(~np.isnan(close))
        if len(valid) == 0:
            return np.full(len(close), float(initial_cash))
        first = int(valid[0])
    else:
        first = 0
    out = initial_cash * close
    out /= close[first]
    out[:first] = initial_cash
    return out


def benchmark_curve(data: MarketData, choice: str, initial_cash: float, close: np.ndarray | None = None) -> np.ndarray:
    """The equity of a resolved benchmark over `data`: buy-and-hold of one loaded symbol, or for EQUAL_WEIGHT
    initial_cash / N in each of the N symbols, bought at its first close and held (cash until then).
    `close`: the data's (bars, symbols) closes if at hand."""
    closes = data.close.to_numpy(dtype="float64") if close is None else close
    symbols = list(data.symbols)
    if choice == EQUAL_WEIGHT and len(symbols) == 1:  # the sum of one curve is that curve: skip the stacked copy
        return buy_and_hold_values(closes[:, 0], initial_cash / 1)
    if choice == EQUAL_WEIGHT:
        share = initial_cash / len(symbols)
        return np.sum([buy_and_hold_values(closes[:, j], share) for j in range(len(symbols))], axis=0)
    if choice not in symbols:
        raise ConfigError(f"benchmark {choice!r} is not among the loaded symbols {symbols}")
    return buy_and_hold_values(closes[:, symbols.index(choice)], initial_cash)


def benchmark_label(benchmark: pd.Series | None) -> str | None:
    """The name of the benchmark behind a result's benchmark equity series (None without one)."""
    if benchmark is None or benchmark.name is None:
        return None
    return str(benchmark.name).removeprefix(SERIES_PREFIX)

"""How often a series has a bar: its bar step, whether it is intraday, and the bars per year it really has.

Annualized metrics multiply per-bar means by the bars per year (P) and per-bar deviations by sqrt(P). Daily bars
keep the fixed convention P = 252 (`DAILY_PERIODS_PER_YEAR`), whatever their calendar, so every daily result is
as before. Intraday bars (a step under one day) use the bars per year the data actually has:
P = bars / (calendar span in years), the span running from the first bar's open to the last bar's close
(last timestamp + one step) over a 365-day year. BTC 1-minute bars around the clock give 1440 x 365 = 525,600;
EUR/USD hourly bars, closed at weekends and holidays, about 24 x 5 x 52 = 6,240 (6,201 on the bundled file).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from engine.config import DAILY_PERIODS_PER_YEAR, BacktestConfig
from engine.errors import DataError

NS_PER_MINUTE = 60 * 10**9
NS_PER_DAY = 86_400 * 10**9
YEAR_DAYS = 365.0
"""The calendar year of the intraday annualization (a 24/7 market's 1-minute bars: 1440 x 365 = 525,600 a year)."""


def _stamps(index: pd.Index | np.ndarray) -> np.ndarray:
    """int64 nanoseconds of a DatetimeIndex (naive UTC) or of an int64 array as given."""
    if isinstance(index, pd.DatetimeIndex):
        return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
    return np.asarray(index, dtype=np.int64)


def bar_step_ns(index: pd.Index | np.ndarray) -> int:
    """The most common spacing between consecutive bars, in nanoseconds (the smallest one on a tie).

    The mode, not the minimum or the median: weekends, holidays and missing bars make some steps longer, a stray
    extra bar makes one shorter, and neither is the bar's length.

    Raises:
        DataError: fewer than two bars (no step to measure).
    """
    ns = _stamps(index)
    if len(ns) < 2:
        raise DataError(f"cannot tell the bar length of {len(ns)} bar(s): at least 2 are needed")
    steps, counts = np.unique(np.diff(ns), return_counts=True)
    return int(steps[np.argmax(counts)])  # np.unique sorts: argmax takes the smallest of tied modes


def is_intraday(index: pd.Index | np.ndarray) -> bool:
    """True when the bars are shorter than a day (a series of one bar is taken as daily)."""
    return len(index) >= 2 and bar_step_ns(index) < NS_PER_DAY


def infer_periods_per_year(index: pd.Index | np.ndarray) -> float:
    """Bars per year for annualizing returns on `index`: 252 for daily (or coarser) bars; for intraday bars the
    bars the data has per 365-day year, rounded to a whole bar (see the module docstring)."""
    if not is_intraday(index):
        return DAILY_PERIODS_PER_YEAR
    ns = _stamps(index)
    span_days = (int(ns[-1]) - int(ns[0]) + bar_step_ns(ns)) / NS_PER_DAY
    return float(max(1, round(len(ns) / (span_days / YEAR_DAYS))))


def annualized_config(config: BacktestConfig, index: pd.Index | np.ndarray) -> BacktestConfig:
    """`config` with `periods_per_year` inferred from the bars of `index` when it is left at its default (252):
    unchanged on daily bars, the data's own bars per year on intraday bars. A value set by the user is kept."""
    if config.periods_per_year != DAILY_PERIODS_PER_YEAR:
        return config
    inferred = infer_periods_per_year(index)
    return config if inferred == config.periods_per_year else replace(config, periods_per_year=inferred)

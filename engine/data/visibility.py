"""A higher timeframe seen from a lower one: a higher bar becomes visible only once it has closed.

At the close of a lower bar (say the 1-minute bar 10:04-10:05), a strategy may read every higher bar (say 5-minute
bars) whose close time is at or before 10:05: the 10:00-10:05 bar is visible from 10:05 on, never at 10:01.
Both sides are open-time labels with their timeframes (engine.data.timeframes: bar_closes), so the rule is one
comparison of close times; nothing of a bar that is still forming leaks into the past.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.timeframes import Timeframe, bin_bounds


def closed_index(
    lower_index: pd.Index | np.ndarray,
    higher_index: pd.Index | np.ndarray,
    lower_timeframe: str | Timeframe,
    higher_timeframe: str | Timeframe,
    session: str = "utc",
) -> np.ndarray:
    """For each lower bar, the position in `higher_index` of the last higher bar whose close time is at or before
    the lower bar's close time; -1 where none has closed yet.

    Args:
        lower_index / higher_index: open-time labels (naive UTC) of each timeframe's bars, ascending; the higher
            ones as `engine.data.timeframes.resample` makes them.
        lower_timeframe / higher_timeframe: the bars' timeframes ("1min", "1h", ...).
        session: the session both were binned on ("utc" or "fx").

    Returns:
        int64 array of len(lower_index).
    """
    lower_close = bin_bounds(lower_index, lower_timeframe, session)[1]
    higher_close = bin_bounds(higher_index, higher_timeframe, session)[1]
    return np.searchsorted(higher_close, lower_close, side="right").astype(np.int64) - 1


def align_closed[T: (pd.Series, pd.DataFrame)](
    higher: T,
    lower_index: pd.DatetimeIndex,
    lower_timeframe: str | Timeframe,
    higher_timeframe: str | Timeframe,
    session: str = "utc",
) -> T:
    """A higher-timeframe series or frame (an indicator on 1h bars) on the lower bars' index: each lower bar gets
    the value of the last higher bar closed by its own close (`closed_index`), NaN before the first one."""
    pos = closed_index(lower_index, higher.index, lower_timeframe, higher_timeframe, session)
    out = higher.reset_index(drop=True).reindex(pos)  # position -1 is no row: NaN
    out.index = lower_index
    return out

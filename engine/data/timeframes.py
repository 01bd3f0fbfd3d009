"""Timeframes and resampling: minute bars -> 5 minutes -> hours -> days, aligned on trading sessions.

Conventions (the same for bars read from a file and for bars made here):

* **Labels**: a bar is labelled by its **open time**, naive UTC (the bundled intraday files are read that way,
  as Binance's and backtesting.py's CSVs are); it covers [open, close) and is closed at `bar_closes`.
* **Sessions**: every bar belongs to one trading session, and bins never straddle two.
  ``"utc"`` (crypto around the clock, and the default): sessions are UTC days, so bins are anchored at
  00:00 UTC. ``"fx"``: sessions run from 17:00 New York to 17:00 New York (21:00 UTC in summer time, 22:00 UTC
  in winter), the usual FX day, so Sunday evening's open belongs to Monday's daily bar and no "Sunday" bar
  appears. `session_for(symbol)` picks "fx" for a currency pair such as EURUSD, else "utc".
* **Bins**: a timeframe divides a day (1min, 5min, 15min, 1h, 4h, 1d, ...). Sub-day bins start at the session
  open and every `timeframe` after it; a bin that would run past the session's end is cut there (this only
  happens on the 23- or 25-hour FX sessions of a daylight-saving change). `1d` is one bar per session.
* **Aggregation**: open = first, high = max, low = min, close = last, volume = sum (NaN when every volume of the
  bin is unknown). Bins without a bar (a weekend, a gap) are not made.
* **Partial bins**: a bin is closed once the data reaches its close time (the last source bar's open + its
  length). The last bin, when the data stops before its close, is dropped: a bar still forming is never shown
  as closed. The first bin, when the data starts after its open, is dropped too (its open would not be the
  bin's). Bins inside the data are closed by time, even when bars are missing in them.

Because bins nest (each divides the next, all anchored at the session open), 1min -> 5min -> 1h -> 1d gives the
same daily bars as 1min -> 1d.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from engine.data.frequency import NS_PER_DAY, NS_PER_MINUTE, bar_step_ns
from engine.data.market import FIELDS
from engine.errors import ConfigError, DataError

Session = Literal["utc", "fx"]
SESSIONS: tuple[str, ...] = get_args(Session)
FX_ZONE = "America/New_York"
FX_CLOSE_HOUR = 17
"""FX sessions end at 17:00 New York time."""
CURRENCIES = frozenset("USD EUR JPY GBP CHF AUD NZD CAD SEK NOK DKK HKD SGD CNH MXN ZAR TRY PLN HUF CZK ILS".split())
"""ISO codes that make a six-letter symbol (EURUSD) a currency pair traded on the FX session."""
MINUTES_PER_DAY = 1440
_UNITS = {"min": 1, "m": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60, "d": 1440, "day": 1440}
_PATTERN = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$", re.IGNORECASE)
EXAMPLES = "1min, 5min, 15min, 30min, 1h, 4h, 1d"


@dataclass(frozen=True, order=True)
class Timeframe:
    """A bar length that divides a day: `minutes` per bar (1 .. 1440)."""

    minutes: int

    @property
    def ns(self) -> int:
        return self.minutes * NS_PER_MINUTE

    @property
    def is_daily(self) -> bool:
        return self.minutes == MINUTES_PER_DAY

    @property
    def text(self) -> str:
        """The canonical spelling: "5min", "4h", "1d"."""
        if self.minutes % MINUTES_PER_DAY == 0:
            return f"{self.minutes // MINUTES_PER_DAY}d"
        if self.minutes % 60 == 0:
            return f"{self.minutes // 60}h"
        return f"{self.minutes}min"

    def __str__(self) -> str:
        return self.text


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """ "5min" / "5m", "1h", "4H", "1d" (case-insensitive) -> a Timeframe.

    Raises:
        ConfigError: naming the value, when it is not a number and a unit, or does not divide a day.
    """
    if isinstance(value, Timeframe):
        return value
    match = _PATTERN.match(value) if isinstance(value, str) else None
    unit = _UNITS.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ConfigError(f"timeframe {value!r}: expected a number and a unit (min, h or d), e.g. {EXAMPLES}")
    minutes = int(match.group(1)) * unit
    if minutes < 1 or minutes > MINUTES_PER_DAY or MINUTES_PER_DAY % minutes:
        raise ConfigError(
            f"timeframe {value!r}: must divide a day evenly (at most 1d, bins anchored at the session open), "
            f"e.g. {EXAMPLES}"
        )
    return Timeframe(minutes)


def parse_session(value: str) -> Session:
    """ "utc" or "fx" (ConfigError naming anything else)."""
    text = str(value).strip().lower()
    if text not in SESSIONS:
        raise ConfigError(f"session {value!r}: expected one of {list(SESSIONS)}")
    return text  # type: ignore[return-value]


def session_for(symbol: str) -> Session:
    """The session a symbol trades on: "fx" for a currency pair (EURUSD: two ISO codes), else "utc"."""
    sym = str(symbol).strip().upper().removesuffix("=X")
    if len(sym) == 6 and sym[:3] in CURRENCIES and sym[3:] in CURRENCIES:
        return "fx"
    return "utc"


def _stamps(index: pd.Index | np.ndarray) -> np.ndarray:
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            raise DataError(f"timestamps must be naive UTC, got zone {index.tz}")
        return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
    return np.asarray(index, dtype=np.int64)


def session_bounds(stamps: pd.Index | np.ndarray, session: str = "utc") -> tuple[np.ndarray, np.ndarray]:
    """(open, end) of the session each timestamp falls in, int64 ns naive UTC."""
    ns = _stamps(stamps)
    if parse_session(session) == "utc":
        start = (ns // NS_PER_DAY) * NS_PER_DAY
        return start, start + NS_PER_DAY
    local = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(FX_ZONE).tz_localize(None)
    shift = (24 - FX_CLOSE_HOUR) * 3600 * 10**9  # 17:00 New York -> midnight of the session's trading date
    days = ((local.asi8 + shift) // NS_PER_DAY) * NS_PER_DAY
    unique, where = np.unique(days, return_inverse=True)
    opens = _ny_to_utc(unique - shift)  # 17:00 New York exists every day (clocks change at 02:00)
    ends = _ny_to_utc(unique + NS_PER_DAY - shift)
    return opens[where], ends[where]


def _ny_to_utc(wall: np.ndarray) -> np.ndarray:
    """New York wall-clock times (int64 ns) -> naive UTC int64 ns."""
    aware = pd.DatetimeIndex(wall.view("datetime64[ns]")).tz_localize(FX_ZONE)
    return np.asarray(aware.tz_convert("UTC").tz_localize(None).asi8, dtype=np.int64)


def bin_bounds(
    stamps: pd.Index | np.ndarray, timeframe: str | Timeframe, session: str = "utc"
) -> tuple[np.ndarray, np.ndarray]:
    """(open, close) of the `timeframe` bin each timestamp falls in, int64 ns naive UTC (rules in the module
    docstring)."""
    tf = parse_timeframe(timeframe)
    ns = _stamps(stamps)
    start, end = session_bounds(ns, session)
    if tf.is_daily:
        return start, end
    opens = start + ((ns - start) // tf.ns) * tf.ns
    return opens, np.minimum(opens + tf.ns, end)


def bar_closes(index: pd.Index | np.ndarray, timeframe: str | Timeframe, session: str = "utc") -> pd.DatetimeIndex:
    """When each bar of `index` (open-time labels of `timeframe` bars) closes, naive UTC."""
    return pd.DatetimeIndex(bin_bounds(index, timeframe, session)[1].view("datetime64[ns]"))


def native_timeframe(index: pd.Index | np.ndarray) -> Timeframe:
    """The timeframe of bars read from a source: their most common step (DataError when it does not divide a
    day, e.g. weekly bars)."""
    step = bar_step_ns(index)
    minutes, rest = divmod(step, NS_PER_MINUTE)
    if rest or not 1 <= minutes <= MINUTES_PER_DAY or MINUTES_PER_DAY % minutes:
        raise DataError(f"bars {pd.Timedelta(step)} apart have no timeframe (a divisor of one day)")
    return Timeframe(step // NS_PER_MINUTE)


def resample_arrays(
    stamps: np.ndarray,
    values: np.ndarray,
    timeframe: str | Timeframe,
    session: str = "utc",
    source: str | Timeframe | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`resample` on arrays: stamps int64 ns (n,), values float64 (5, n) in FIELDS order -> the same for the
    closed bins. `source` is the timeframe of the bars given (None: inferred from their most common step)."""
    tf = parse_timeframe(timeframe)
    ns = _stamps(stamps)
    if len(ns) == 0:
        return ns.copy(), np.asarray(values, dtype=np.float64).copy()
    src = parse_timeframe(source) if source is not None else native_timeframe(ns)
    if tf.minutes < src.minutes:
        raise ConfigError(f"timeframe {tf.text!r}: finer than the data's {src.text} bars (bars combine, never split)")
    if tf.minutes % src.minutes:
        raise ConfigError(f"timeframe {tf.text!r}: not a whole number of the data's {src.text} bars")
    if np.isnan(values[:4]).any():
        raise DataError("resample: NaN prices; pass one symbol's own bars (before alignment with other symbols)")
    if tf == src:
        return ns.copy(), np.array(values, dtype=np.float64)
    opens, closes = bin_bounds(ns, tf, session)
    firsts = np.flatnonzero(np.r_[True, opens[1:] != opens[:-1]])
    lasts = np.r_[firsts[1:], len(ns)] - 1
    volume = values[4]
    known = np.add.reduceat(~np.isnan(volume), firsts)
    out = np.stack(
        [
            values[0, firsts],
            np.maximum.reduceat(values[1], firsts),
            np.minimum.reduceat(values[2], firsts),
            values[3, lasts],
            np.where(known > 0, np.add.reduceat(np.nan_to_num(volume), firsts), np.nan),
        ]
    )
    data_end = int(ns[-1]) + src.ns  # the last source bar's close
    keep = closes[firsts] <= data_end
    keep[0] &= opens[0] >= ns[0]  # a first bin the data starts inside of is not a whole bar either
    return opens[firsts][keep], np.ascontiguousarray(out[:, keep])


def resample(
    frame: pd.DataFrame, timeframe: str | Timeframe, session: str = "utc", source: str | Timeframe | None = None
) -> pd.DataFrame:
    """OHLCV bars (DatetimeIndex of open times, naive UTC; columns FIELDS) aggregated to `timeframe` on `session`,
    partial last bin dropped (see the module docstring).

    Args:
        source: the timeframe of `frame`'s bars; None = their most common step.

    Raises:
        ConfigError: a bad timeframe or session, or a timeframe finer than (or not a multiple of) the bars'.
        DataError: the bars' step is not a timeframe (weekly bars), or fewer than 2 bars without `source`.
    """
    missing = [f for f in FIELDS if f not in frame.columns]
    if missing:
        raise DataError(f"resample: missing columns {missing}")
    values = np.ascontiguousarray(frame[list(FIELDS)].to_numpy(dtype="float64").T)
    ns, out = resample_arrays(_stamps(frame.index), values, timeframe, session, source)
    index = pd.DatetimeIndex(ns.view("datetime64[ns]"), name=frame.index.name or "date")
    return pd.DataFrame(out.T, index=index, columns=list(FIELDS))

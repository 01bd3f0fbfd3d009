"""`load_market_data`: symbols + date range + source -> one aligned `MarketData` (through the Parquet cache)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.cache import Bars, load_cached_bars
from engine.data.frequency import is_intraday
from engine.data.market import FIELDS, MarketData, union_stamps
from engine.data.sources import DataSource, get_source
from engine.data.timeframes import Timeframe, native_timeframe, parse_timeframe, resample_arrays, session_for
from engine.errors import ConfigError, DataError

type DateLike = str | dt.date | pd.Timestamp | None


def _bound(value: DateLike, name: str) -> tuple[pd.Timestamp | None, bool]:
    """(timestamp as naive UTC, whether it is a whole day) for a start/end argument."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: cannot read {value!r} as a date (use YYYY-MM-DD)") from exc
    if ts is pd.NaT:
        raise DataError(f"{name}: cannot read {value!r} as a date (use YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    whole_day = ts == ts.normalize() and not isinstance(value, dt.datetime)
    return ts, whole_day


def _fmt(ts: pd.Timestamp) -> str:
    return str(ts.date()) if ts == ts.normalize() else str(ts)


def _align(bars: dict[str, Bars]) -> MarketData:
    """Align per-symbol bars on the sorted union of their timestamps (NaN where a symbol has no bar).

    Same result as aligning frames with `Index.union`, including the index frequency: none when every symbol
    has the same timestamps, else the one pandas infers for the union (e.g. "D" for crypto-only data).
    """
    union, positions = union_stamps([b.dates for b in bars.values()])
    out = np.full((len(FIELDS), len(bars), len(union)), np.nan)
    for j, (b, pos) in enumerate(zip(bars.values(), positions)):
        out[:, j, pos] = b.values
    same = isinstance(positions[0], slice)
    index = pd.DatetimeIndex(union.view("datetime64[ns]"), name="date", freq=None if same else "infer")
    return MarketData.from_blocks(out, index, list(bars))


_I64 = np.iinfo(np.int64)
_DAY_NS = 86_400 * 10**9


def _ns(ts: pd.Timestamp) -> int:
    """`ts` as int64 nanoseconds since the epoch, saturated beyond the nanosecond range (years 1677..2262)."""
    try:
        return int(ts.as_unit("ns").value)
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        return int(_I64.max) if ts.year > 1970 else int(_I64.min)


def _in_range(bars: Bars, lo: pd.Timestamp | None, hi: pd.Timestamp | None, hi_whole_day: bool) -> Bars:
    """The bars with lo <= date <= hi (a whole-day `hi` keeps every bar of that day)."""
    dates = bars.dates
    first = 0 if lo is None else int(np.searchsorted(dates, _ns(lo), side="left"))
    if hi is None:
        last = len(dates)
    elif hi_whole_day:
        last = int(np.searchsorted(dates, min(_ns(hi) + _DAY_NS, int(_I64.max)), side="left"))
    else:
        last = int(np.searchsorted(dates, _ns(hi), side="right"))
    if first == 0 and last == len(dates):
        return bars
    return Bars(dates[first:last], bars.values[:, first:last])


def _symbols(symbols: Sequence[str] | str) -> list[str]:
    if isinstance(symbols, str):
        symbols = [symbols]
    out: list[str] = []
    for s in symbols:
        sym = str(s).strip().upper()
        if sym and sym not in out:
            out.append(sym)
    if not out:
        raise DataError("no symbols given: choose at least one symbol")
    return out


def load_market_data(
    symbols: Sequence[str] | str,
    start: DateLike = None,
    end: DateLike = None,
    source: DataSource | str | Path | None = None,
    timeframe: str | Timeframe | None = None,
) -> MarketData:
    """Load symbols from a source, resampled to `timeframe` when given, and align them on the union of their
    timestamps.

    Args:
        symbols: symbol names (case-insensitive; duplicates are dropped). A single string is one symbol.
        start: first bar to keep (inclusive), ISO date or timestamp; None = from the first bar.
        end: last bar to keep (inclusive); a plain date keeps every bar of that day; None = to the last bar.
        source: None (workspace imports, then the bundled sample), a folder path, or a DataSource.
        timeframe: None = each symbol's own bars; else "5min", "1h", "1d", ...: each symbol's whole history is
            resampled on its session (`engine.data.timeframes`: bars labelled by open time, partial bins
            dropped) before start/end select bars by their open time.

    Returns:
        MarketData: one column per symbol in the given order; NaN where a symbol has no bar (other calendar,
        not listed yet).

    Raises:
        DataError: no symbols, unknown symbol, bad dates, start after end, or a symbol with no bars in the range
            (the message gives the range its data covers).
        ConfigError: a bad timeframe, or one finer than a symbol's own bars.
    """
    syms = _symbols(symbols)
    lo, _ = _bound(start, "start")
    hi, hi_whole_day = _bound(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"start {_fmt(lo)} is after end {_fmt(hi)}")
    src = get_source(source)
    tf = None if timeframe is None else parse_timeframe(timeframe)
    loaded: dict[str, Bars] = {}
    for sym in syms:
        bars = load_cached_bars(src, sym)
        if len(bars) == 0:
            raise DataError(f"{sym}: {src.name} returned no bars")
        if tf is not None:
            bars = _resampled(sym, bars, tf)
        kept = _in_range(bars, lo, hi, hi_whole_day)
        if len(kept) == 0:
            asked = f"{_fmt(lo) if lo is not None else 'the start'} .. {_fmt(hi) if hi is not None else 'the end'}"
            first, last = pd.Timestamp(int(bars.dates[0])), pd.Timestamp(int(bars.dates[-1]))
            raise DataError(f"{sym}: no bars in {asked}; its data covers {_fmt(first)} .. {_fmt(last)} ({src.name})")
        loaded[sym] = kept
    return _align(loaded)


def _resampled(symbol: str, bars: Bars, tf: Timeframe) -> Bars:
    """`bars` aggregated to `tf` on the symbol's session (a symbol already at `tf` is returned as is)."""
    try:
        stamps, values = resample_arrays(bars.dates, bars.values, tf, session_for(symbol))
    except (ConfigError, DataError) as exc:
        raise type(exc)(f"{symbol}: {exc}") from exc
    if len(stamps) == 0:
        raise DataError(f"{symbol}: no complete {tf.text} bar in its data ({len(bars)} bars)")
    return Bars(stamps, values)


def symbol_timeframe(symbol: str, source: DataSource | str | Path | None = None) -> Timeframe | None:
    """The timeframe of a symbol's own bars when they are intraday ("1min" for BTC-PERP), None for daily bars."""
    bars = load_cached_bars(get_source(source), symbol)
    return native_timeframe(bars.dates) if is_intraday(bars.dates) else None


TIMEFRAME_LADDER: tuple[str, ...] = ("1min", "5min", "15min", "30min", "1h", "4h", "1d")
"""The timeframes the app offers for intraday symbols (any divisor of a day works through the request)."""


def timeframe_choices(symbols: Sequence[str], source: DataSource | str | Path | None = None) -> list[str]:
    """The ladder's timeframes a run on `symbols` can be resampled to: coarser than the finest intraday symbol and a
    multiple of every intraday symbol's own timeframe; [] when none is intraday (unknown symbols are skipped)."""
    src = get_source(source)
    natives = []
    for sym in symbols:
        try:
            tf = symbol_timeframe(sym, src)
        except DataError:
            continue
        if tf is not None:
            natives.append(tf)
    if not natives:
        return []
    finest = min(natives)
    ladder = [parse_timeframe(t) for t in TIMEFRAME_LADDER]
    return [t.text for t in ladder if t > finest and all(t.minutes % n.minutes == 0 for n in natives)]


def available_symbols(source: DataSource | str | Path | None = None) -> list[str]:
    """Sorted symbols of a source (default: workspace imports plus the bundled sample)."""
    return sorted(get_source(source).symbols())

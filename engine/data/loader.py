"""`load_market_data`: symbols + date range + source -> one aligned `MarketData` (through the Parquet cache)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from engine.data.cache import load_cached
from engine.data.market import FIELDS, MarketData
from engine.data.sources import DataSource, get_source
from engine.errors import DataError

DateLike = str | dt.date | pd.Timestamp | None


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


def _align(frames: dict[str, pd.DataFrame]) -> MarketData:
    """Same result as `MarketData.from_frames`, with one index lookup per symbol instead of one per field."""
    index = None
    for df in frames.values():
        index = df.index if index is None else index.union(df.index)
    assert index is not None
    index = pd.DatetimeIndex(index, name="date")
    out = {f: np.full((len(index), len(frames)), np.nan) for f in FIELDS}
    for j, df in enumerate(frames.values()):
        rows = index.get_indexer(df.index)
        block = df[list(FIELDS)].to_numpy(dtype="float64")
        for k, f in enumerate(FIELDS):
            out[f][rows, j] = block[:, k]
    columns = pd.Index(list(frames), name="symbol")
    return MarketData(**{f: pd.DataFrame(out[f], index=index, columns=columns) for f in FIELDS})


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
) -> MarketData:
    """Load symbols from a source and align them on the union of their timestamps.

    Args:
        symbols: symbol names (case-insensitive; duplicates are dropped). A single string is one symbol.
        start: first bar to keep (inclusive), ISO date or timestamp; None = from the first bar.
        end: last bar to keep (inclusive); a plain date keeps every bar of that day; None = to the last bar.
        source: None (workspace imports, then the bundled sample), a folder path, or a DataSource.

    Returns:
        MarketData: one column per symbol in the given order; NaN where a symbol has no bar (other calendar,
        not listed yet).

    Raises:
        DataError: no symbols, unknown symbol, bad dates, start after end, or a symbol with no bars in the range
            (the message gives the range its data covers).
    """
    syms = _symbols(symbols)
    lo, _ = _bound(start, "start")
    hi, hi_whole_day = _bound(end, "end")
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"start {_fmt(lo)} is after end {_fmt(hi)}")
    src = get_source(source)
    frames: dict[str, pd.DataFrame] = {}
    for sym in syms:
        df = load_cached(src, sym)
        idx = df.index
        if len(idx) == 0:
            raise DataError(f"{sym}: {src.name} returned no bars")
        keep = np.ones(len(idx), dtype=bool)
        if lo is not None:
            keep &= idx >= lo
        if hi is not None:
            keep &= (idx < hi + pd.Timedelta(days=1)) if hi_whole_day else (idx <= hi)
        if not keep.any():
            asked = f"{_fmt(lo) if lo is not None else 'the start'} .. {_fmt(hi) if hi is not None else 'the end'}"
            raise DataError(
                f"{sym}: no bars in {asked}; its data covers {_fmt(idx[0])} .. {_fmt(idx[-1])} ({src.name})"
            )
        frames[sym] = df if keep.all() else df.loc[keep]
    return _align(frames)


def available_symbols(source: DataSource | str | Path | None = None) -> list[str]:
    """Sorted symbols of a source (default: workspace imports plus the bundled sample)."""
    return sorted(get_source(source).symbols())

"""Facts about data: a per-symbol summary for the Data page, and a content hash for reproducibility keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.cache import load_cached
from engine.data.market import FIELDS, MarketData
from engine.data.sources import CombinedSource, DataSource, get_source
from engine.errors import DataError

GAP_DAYS = 5.0
"""A gap is a step between consecutive bars longer than this many calendar days (a long weekend is 4)."""

INFO_COLUMNS: tuple[str, ...] = (
    "symbol",
    "source",
    "first",
    "last",
    "bars",
    "largest_gap_days",
    "gaps",
    "error",
)


def symbol_info(source: DataSource | str | Path | None = None) -> pd.DataFrame:
    """One row per symbol of a source: where it comes from, its range, and how gappy it is.

    Columns: symbol, source (name of the source that serves it), first and last timestamp, bars (count),
    largest_gap_days (largest step between consecutive bars, in calendar days, fractional for intraday),
    gaps (number of steps longer than `GAP_DAYS` calendar days), error ("" when the symbol loads; otherwise
    the DataError message, with the other fields empty, so one bad file does not hide the rest).
    Loads go through the Parquet cache.
    """
    src = get_source(source)
    rows = []
    for sym in src.symbols():
        owner = src.source_of(sym) if isinstance(src, CombinedSource) else src
        row: dict[str, object] = {"symbol": sym, "source": owner.name, "error": ""}
        try:
            df = load_cached(src, sym)
        except DataError as exc:
            row["error"] = str(exc)
            rows.append(row)
            continue
        steps = np.diff(df.index.asi8) / 86_400e9 if len(df) > 1 else np.array([0.0])
        row.update(
            first=df.index[0],
            last=df.index[-1],
            bars=len(df),
            largest_gap_days=float(steps.max()),
            gaps=int((steps > GAP_DAYS).sum()),
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(INFO_COLUMNS))


def data_fingerprint(data: MarketData) -> str:
    """sha256 (hex) of the aligned bars: symbols, timestamps (int64 ns) and every field's float64 values.

    Equal data gives an equal hash whatever source or cache it came from; used in run reproducibility keys.
    NaN is hashed as one canonical value.
    """
    h = hashlib.sha256()
    h.update(("\x1f".join(data.symbols)).encode("utf-8"))
    h.update(b"\x1e")
    h.update(np.ascontiguousarray(pd.DatetimeIndex(data.index).as_unit("ns").asi8, dtype="<i8").tobytes())
    for f in FIELDS:
        arr = np.ascontiguousarray(getattr(data, f).to_numpy(dtype="float64"), dtype="<f8")
        arr = np.where(np.isnan(arr), np.nan, arr + 0.0)  # canonical NaN, and -0.0 -> 0.0
        h.update(f.encode("ascii"))
        h.update(arr.tobytes())
    return h.hexdigest()

"""Read one per-symbol bar file (CSV or Parquet) into the standard frame, or raise `DataError` saying why.

The standard frame: a DatetimeIndex named ``date`` (naive, UTC wall time, nanosecond unit, strictly
ascending) and float64 columns ``open, high, low, close, volume``. Daily or intraday timestamps are both fine.

Rules (each violation raises `DataError` naming the file, the row and the problem):

* Column names match case-insensitively, ignoring spaces, ``_`` and ``-``: a date column (Date, Datetime,
  Timestamp or Time), Open, High, Low, Close, optionally Adj Close (``adj_close``, ``adjclose``) and
  Volume. Other columns are ignored. A Parquet file may carry the dates as its DatetimeIndex instead.
* **Volume is optional**: a file without a volume column gets an all-NaN volume (prices alone are enough to
  backtest; volume-based logic sees NaN and must treat it as "unknown"). An empty volume cell is NaN too;
  a negative or non-numeric volume is an error.
* **Adj Close**: when present, open/high/low/close are multiplied by ``adj_close / close`` (the total-return
  adjustment yfinance applies with ``auto_adjust=True``), so the returned close is the adjusted close.
* Prices must be present, numeric, finite and > 0, with high >= low. A NaN price cell is an error (with its
  row); a missing row is not: gaps between dates are normal (holidays, halts).
* Dates must parse, be unique and ascending. Timezone-aware timestamps are converted to naive UTC; naive
  ones are taken as they are.

Row numbers: for a CSV, the 1-based line number in the file (the header is line 1, the first bar line 2);
for Parquet or an in-memory frame, the 1-based row number of the table. Blank CSV lines are skipped.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.market import FIELDS
from engine.errors import DataError

PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close")
CSV_SUFFIXES: tuple[str, ...] = (".csv",)
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
SUPPORTED_SUFFIXES: tuple[str, ...] = CSV_SUFFIXES + PARQUET_SUFFIXES

# normalized header (lower case, no spaces/_/-) -> standard field name
_ALIASES: dict[str, str] = {
    "date": "date",
    "datetime": "date",
    "timestamp": "date",
    "time": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adjclose": "adj_close",
    "adjustedclose": "adj_close",
    "volume": "volume",
}
_REQUIRED: tuple[str, ...] = ("date", "open", "high", "low", "close")
_SHOWN = 5  # how many offending rows an error message lists at most


def read_bars(path: str | Path) -> pd.DataFrame:
    """Read and validate one CSV or Parquet bar file into the standard frame (see the module docstring).

    Raises:
        DataError: the file is missing, unreadable, empty or malformed; the message names the file, the row
            (CSV: line number, header = line 1) and the problem.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; expected one of {list(SUPPORTED_SUFFIXES)}")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    if suffix in CSV_SUFFIXES:
        raw, lines = _read_csv(path)
        return normalize_bars(raw, origin=str(path), row_numbers=lines, row_label="line")
    try:
        raw = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc
    return normalize_bars(raw, origin=str(path))


def _read_csv(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The raw table (a column with a bad cell stays text, so the cell can be named), blank lines dropped,
    with each row's line number."""
    try:
        raw = pd.read_csv(path, skip_blank_lines=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: empty file (no header line)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file: {exc}") from exc
    lines = np.arange(2, len(raw) + 2)
    blank = raw.isna().all(axis=1).to_numpy()
    if blank.any():
        raw = raw.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
    return raw, lines


def _norm(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _map_columns(raw: pd.DataFrame, origin: str) -> dict[str, object]:
    """Standard field -> the file's column label, checking for missing and ambiguous columns."""
    found: dict[str, object] = {}
    for col in raw.columns:
        field = _ALIASES.get(_norm(col))
        if field is None:
            continue
        if field in found:
            raise DataError(
                f"{origin}: ambiguous columns {found[field]!r} and {col!r} both mean {field!r}; keep only one"
            )
        found[field] = col
    missing = [f for f in _REQUIRED if f not in found and not (f == "date" and _has_datetime_index(raw))]
    if missing:
        raise DataError(
            f"{origin}: missing column(s) {missing}; found columns {[str(c) for c in raw.columns]} "
            "(expected Date/Datetime/Timestamp, Open, High, Low, Close, optional Adj Close and Volume)"
        )
    return found


def _has_datetime_index(raw: pd.DataFrame) -> bool:
    return isinstance(raw.index, pd.DatetimeIndex)


def _where(origin: str, label: str, numbers: np.ndarray, mask: np.ndarray) -> str:
    """'file: line 7' or 'file: lines 7, 9, 12 (and 3 more)' for the rows selected by mask."""
    hits = numbers[mask]
    shown = ", ".join(str(int(n)) for n in hits[:_SHOWN])
    more = f" (and {len(hits) - _SHOWN} more)" if len(hits) > _SHOWN else ""
    plural = "s" if len(hits) > 1 else ""
    return f"{origin}: {label}{plural} {shown}{more}"


def _num(x: float) -> str:
    return f"{float(x):.10g}"


def _ts(t: pd.Timestamp) -> str:
    """A timestamp as the user wrote it: a plain date when it is midnight."""
    return str(t.date()) if t == t.normalize() else str(t)


def _first(values: pd.Series, mask: np.ndarray) -> str:
    return repr(str(values.to_numpy()[mask][0]))


def _parse_dates(values: pd.Series, origin: str, label: str, rows: np.ndarray) -> pd.DatetimeIndex:
    """Parse timestamps to naive UTC (aware ones converted), nanosecond unit."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = pd.DatetimeIndex(values)
    else:
        missing = values.isna().to_numpy()
        if missing.any():
            raise DataError(f"{_where(origin, label, rows, missing)}: missing date")
        text = values.astype(str).str.strip()
        parsed = _to_datetime(text, "ISO8601")
        if parsed.isna().any():
            guess = _to_datetime(text, None)  # e.g. 01/31/2020: let pandas infer one format from the values
            if guess.isna().sum() < parsed.isna().sum():
                parsed = guess
        bad = parsed.isna().to_numpy()
        if bad.any():
            raise DataError(f"{_where(origin, label, rows, bad)}: unparseable date {_first(text, bad)}")
        parsed = pd.DatetimeIndex(parsed)
    if parsed.isna().any():
        bad = np.asarray(parsed.isna())
        raise DataError(f"{_where(origin, label, rows, bad)}: missing date")
    return parsed.as_unit("ns")


def _to_datetime(text: pd.Series, fmt: str | None) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format" is expected for junk; we report it ourselves
        try:
            out = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    return out.dt.tz_localize(None)


def _parse_numbers(
    raw: pd.DataFrame, columns: dict[str, object], origin: str, label: str, rows: np.ndarray
) -> dict[str, np.ndarray]:
    """float64 arrays per field; names the first non-numeric, missing or out-of-range cells."""
    out: dict[str, np.ndarray] = {}
    for field in ("open", "high", "low", "close", "adj_close", "volume"):
        if field not in columns:
            continue
        col = columns[field]
        values = raw[col]
        if pd.api.types.is_bool_dtype(values.dtype):
            raise DataError(f"{origin}: column {col!r} holds true/false values, not numbers")
        if pd.api.types.is_numeric_dtype(values.dtype):
            arr = values.to_numpy(dtype="float64", na_value=np.nan)
            empty = np.isnan(arr)
        else:
            empty = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
            arr = pd.to_numeric(values.where(~empty), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            junk = np.isnan(arr) & ~empty
            if junk.any():
                raise DataError(
                    f"{_where(origin, label, rows, junk)}: column {col!r}: non-numeric value {_first(values, junk)}"
                )
        if field == "volume":
            bad = np.isinf(arr) | (arr < 0)
            if bad.any():
                raise DataError(f"{_where(origin, label, rows, bad)}: column {col!r}: negative or infinite volume")
        else:
            if empty.any():
                raise DataError(f"{_where(origin, label, rows, empty)}: column {col!r}: missing price (NaN or empty)")
            if not np.isfinite(arr).all():
                bad = ~np.isfinite(arr)
                raise DataError(f"{_where(origin, label, rows, bad)}: column {col!r}: infinite price")
            bad = arr <= 0
            if bad.any():
                raise DataError(
                    f"{_where(origin, label, rows, bad)}: column {col!r}: non-positive price {_num(arr[bad][0])}"
                )
        out[field] = arr
    return out


def normalize_bars(
    raw: pd.DataFrame,
    origin: str,
    row_numbers: np.ndarray | None = None,
    row_label: str = "row",
) -> pd.DataFrame:
    """Validate an OHLCV table of any source and return the standard frame (rules in the module docstring).

    Broker bar sources and importers call this on what they downloaded, so every source yields the same shape.

    Args:
        raw: one symbol's bars; dates in a Date/Datetime/Timestamp/Time column or in a DatetimeIndex.
        origin: what to call the data in error messages (a file path, or e.g. "alpaca:SPY").
        row_numbers: the number to report for each row (default 1..n).
        row_label: the word for a row number in messages ("line" for CSV files, "row" otherwise).

    Raises:
        DataError: naming the origin, the row(s) and the problem.
    """
    rows = np.arange(1, len(raw) + 1) if row_numbers is None else np.asarray(row_numbers)
    columns = _map_columns(raw, origin)
    if len(raw) == 0:
        raise DataError(f"{origin}: empty file: a header but no data rows")
    if "date" in columns:
        dates = _parse_dates(raw[columns["date"]], origin, row_label, rows)
    else:
        dates = _parse_dates(pd.Series(raw.index), origin, row_label, rows)
    values = _parse_numbers(raw, columns, origin, row_label, rows)

    i8 = dates.asi8
    step = np.diff(i8)
    dup = np.concatenate([[False], step == 0])
    if dup.any():
        first = int(rows[np.flatnonzero(dup)[0] - 1])
        raise DataError(
            f"{_where(origin, row_label, rows, dup)}: duplicate date {_ts(dates[dup][0])} "
            f"(first seen at {row_label} {first})"
        )
    down = np.concatenate([[False], step < 0])
    if down.any():
        k = int(np.flatnonzero(down)[0])
        raise DataError(
            f"{_where(origin, row_label, rows, down)}: dates not in ascending order ({_ts(dates[k])} comes after "
            f"{_ts(dates[k - 1])} at {row_label} {int(rows[k - 1])}); sort the file by date"
        )
    inverted = values["high"] < values["low"]
    if inverted.any():
        k = int(np.flatnonzero(inverted)[0])
        raise DataError(
            f"{_where(origin, row_label, rows, inverted)}: high < low "
            f"(high {_num(values['high'][k])}, low {_num(values['low'][k])})"
        )

    if "adj_close" in values:
        factor = values["adj_close"] / values["close"]
        for f in PRICE_FIELDS:
            values[f] = values[f] * factor
    volume = values.get("volume", np.full(len(dates), np.nan))
    index = pd.DatetimeIndex(dates, name="date")
    frame = pd.DataFrame({f: values[f] if f != "volume" else volume for f in FIELDS}, index=index)
    return frame.astype("float64")

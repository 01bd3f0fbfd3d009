"""Parquet bytes of the run store's series and frames (dtypes, the DatetimeIndex and float64 bits kept exactly,
datetime units Parquet lacks recorded in the file's metadata)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SERIES_COLUMN = "value"
"""The one column a stored series is written as."""


def series_parquet(series: pd.Series) -> bytes:
    return frame_parquet(series.to_frame(name=SERIES_COLUMN))


def frame_parquet(frame: pd.DataFrame) -> bytes:
    """Parquet bytes of `frame`; datetime units Parquet lacks (seconds) are recorded in the file's metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=True)
    units = {str(c): str(t) for c, t in frame.dtypes.items() if str(t).startswith("datetime64")}
    if isinstance(frame.index, pd.DatetimeIndex):
        units["__index__"] = str(frame.index.dtype)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"ivybt_dtypes": json.dumps(units).encode()}
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def read_parquet(blob: bytes) -> pd.DataFrame:
    """Inverse of `frame_parquet`: the same frame, datetime units included."""
    table = pq.read_table(io.BytesIO(blob))
    frame = table.to_pandas()
    units = json.loads((table.schema.metadata or {}).get(b"ivybt_dtypes", b"{}"))
    index_unit = units.pop("__index__", None)
    if index_unit and str(frame.index.dtype) != index_unit:
        frame.index = frame.index.astype(index_unit)
    for col, dtype in units.items():
        if col in frame.columns and str(frame[col].dtype) != dtype:
            frame[col] = frame[col].astype(dtype)
    return frame

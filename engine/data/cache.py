"""A Parquet cache of validated bars in the workspace (``<workspace>/cache/bars/``).

Key: source name + symbol + the source's fingerprint for that symbol (file size and mtime for file
sources). The file is ``bars/<sha1(source name)[:12]>/<SYMBOL>__<sha1(fingerprint)[:16]>.parquet``; when a
symbol's fingerprint changes, the new file replaces the old ones. A cache file that cannot be read or does
not hold a standard frame is ignored and rebuilt, never fatal. Writes are atomic (temp file + os.replace).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.sources import DataSource
from engine.data.validate import FIELDS
from engine.workspace import cache_dir

_SAFE = re.compile(r"[^A-Za-z0-9.\-]")


def _digest(text: str, n: int) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def _folder(source_name: str) -> Path:
    return cache_dir() / "bars" / _digest(source_name, 12)


def _stem(symbol: str) -> str:
    return _SAFE.sub("_", symbol.strip().upper())


def cache_path(source: DataSource, symbol: str) -> Path | None:
    """Where `symbol` of `source` is cached now, or None if the source asks not to be cached."""
    fp = source.fingerprint(symbol)
    if not fp:
        return None
    return _folder(source.name) / f"{_stem(symbol)}__{_digest(fp, 16)}.parquet"


def _read(path: Path) -> pd.DataFrame | None:
    """The cached frame, or None if the file is missing, unreadable or not a standard frame."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception:  # a corrupt cache file is a miss, whatever pyarrow raises for it
        return None
    if (
        list(frame.columns) != list(FIELDS)
        or not isinstance(frame.index, pd.DatetimeIndex)
        or frame.index.tz is not None
        or any(dt != np.float64 for dt in frame.dtypes)
    ):
        return None
    return frame


def _write(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old in path.parent.glob(f"{path.name.split('__')[0]}__*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)


def load_cached(source: DataSource, symbol: str) -> pd.DataFrame:
    """`source.load(symbol)`, served from the Parquet cache when the fingerprint is unchanged.

    Raises:
        DataError: from the source (unknown symbol, bad data); cache problems are never raised.
    """
    path = cache_path(source, symbol)
    if path is not None:
        frame = _read(path)
        if frame is not None:
            return frame
    frame = source.load(symbol)
    if path is not None:
        try:
            _write(path, frame)
        except OSError:  # read-only or full disk: serve the data uncached
            pass
    return frame


def clear_cache() -> int:
    """Delete every cached bar file; returns how many were removed."""
    root = cache_dir() / "bars"
    n = 0
    for p in root.glob("*/*.parquet"):
        p.unlink(missing_ok=True)
        n += 1
    return n

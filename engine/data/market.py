"""`MarketData`: aligned wide OHLCV frames, the one shape every strategy and the simulator read."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.jit import readonly

FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class MarketData:
    """Bars of several symbols on one shared index.

    Each field is a DataFrame (index: timestamps ascending, columns: symbols, float64). A symbol without a
    bar at a timestamp (not listed yet, holiday on its own calendar, gap) has NaN there: it cannot be traded
    on that bar. Build one with `MarketData.from_frames`.
    """

    open: pd.DataFrame
    high: pd.DataFrame
    low: pd.DataFrame
    close: pd.DataFrame
    volume: pd.DataFrame

    def __post_init__(self) -> None:
        ref = self.close
        for name in FIELDS:
            frame = getattr(self, name)
            if not frame.index.equals(ref.index) or list(frame.columns) != list(ref.columns):
                raise DataError(f"MarketData field {name!r} is not aligned with 'close' (index or columns differ)")

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> MarketData:
        """Align per-symbol frames (columns open, high, low, close, volume; sorted index) on their union index.

        Timestamps are merged with numpy (np.unique + searchsorted), not one `Index.union` per symbol; the
        result is the same, including the union's inferred frequency when the symbols' calendars differ.
        """
        if not frames:
            raise DataError("no symbols given: MarketData needs at least one symbol")
        for sym, df in frames.items():
            missing = [f for f in FIELDS if f not in df.columns]
            if missing:
                raise DataError(f"symbol {sym!r}: missing columns {missing}")
        indexes = [df.index for df in frames.values()]
        index, positions = _union(indexes)
        out = np.full((len(FIELDS), len(frames), len(index)), np.nan)
        for j, (df, pos) in enumerate(zip(frames.values(), positions)):
            out[:, j, pos] = _field_rows(df)
        return cls.from_blocks(out, index, list(frames))

    @classmethod
    def from_blocks(cls, values: np.ndarray, index: pd.Index, symbols: Sequence[str]) -> MarketData:
        """From a (field, symbol, bar) float64 array, fields in FIELDS order: pandas' block layout, so each
        field's frame wraps its slice without a copy."""
        columns = pd.Index(list(symbols), name="symbol")
        return cls(
            **{f: pd.DataFrame(values[k].T, index=index, columns=columns, copy=False) for k, f in enumerate(FIELDS)}
        )

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @functools.cached_property
    def _symbols(self) -> tuple[str, ...]:
        """The column labels as str, once (pandas 3's Arrow-backed string Index is slow to iterate)."""
        return tuple(str(c) for c in self.close.columns)

    @property
    def index(self) -> pd.Index:
        return self.close.index

    def __len__(self) -> int:
        return len(self.close.index)

    def field(self, name: str) -> pd.DataFrame:
        if name not in FIELDS:
            raise DataError(f"unknown field {name!r}; expected one of {FIELDS}")
        return getattr(self, name)

    def select(self, symbols: Sequence[str]) -> MarketData:
        """The same bars for a subset of symbols (rows where none of them has a bar are dropped)."""
        unknown = [s for s in symbols if s not in self.close.columns]
        if unknown:
            raise DataError(f"unknown symbol(s) {unknown}; available: {self.symbols}")
        cols = list(symbols)
        keep = self.close[cols].notna().any(axis=1).to_numpy()
        return MarketData(**{f: getattr(self, f).loc[keep, cols] for f in FIELDS})

    def slice(self, start: object | None = None, end: object | None = None) -> MarketData:
        """Bars with start <= timestamp <= end (either bound optional). Raises DataError if nothing is left."""
        idx = self.index
        mask = np.ones(len(idx), dtype=bool)
        if start is not None:
            mask &= idx >= pd.Timestamp(start)
        if end is not None:
            mask &= idx <= pd.Timestamp(end)
        if not mask.any():
            raise DataError(
                f"no bars between {start} and {end}; data covers {idx[0]} .. {idx[-1]}"
                if len(idx)
                else "no bars at all"
            )
        return MarketData(**{f: getattr(self, f).loc[mask] for f in FIELDS})

    def head(self, n: int) -> MarketData:
        """The first `n` bars: what was known at the close of bar n-1 (used by the look-ahead audit)."""
        return MarketData(**{f: getattr(self, f).iloc[:n] for f in FIELDS})

    def to_arrays(self) -> dict[str, np.ndarray]:
        """C-contiguous float64 arrays (bars x symbols) for the compiled kernels, read-only (engine.jit.readonly:
        one compiled signature whether pandas handed out a view or a copy)."""
        return {f: readonly(np.ascontiguousarray(getattr(self, f).to_numpy(dtype="float64"))) for f in FIELDS}


def _union(indexes: list[pd.Index]) -> tuple[pd.Index, list[slice | np.ndarray]]:
    """The sorted union of `indexes` and, for each, the positions of its rows in it (a slice when equal)."""
    first = indexes[0]
    if all(ix is first or ix.equals(first) for ix in indexes[1:]):
        return first, [slice(None)] * len(indexes)
    if all(isinstance(ix, pd.DatetimeIndex) and ix.dtype == first.dtype for ix in indexes):  # same unit and tz
        stamps, positions = union_stamps([ix.asi8 for ix in indexes])
        naive = pd.DatetimeIndex(stamps.view(f"datetime64[{first.unit}]"))
        union = naive if first.tz is None else naive.tz_localize("UTC").tz_convert(first.tz)
        return pd.DatetimeIndex(union, name=first.name, freq="infer"), positions
    union = first
    for ix in indexes[1:]:
        union = union.union(ix)
    return union, [union.get_indexer(ix) for ix in indexes]


def _field_rows(df: pd.DataFrame) -> np.ndarray:
    """(5, n) float64 rows of `df`'s FIELDS (a view when the frame holds exactly them, in order)."""
    if tuple(df.columns) == FIELDS:
        return df.to_numpy(dtype="float64").T
    return np.stack([df[f].to_numpy(dtype="float64") for f in FIELDS])


def union_stamps(stamps: list[np.ndarray]) -> tuple[np.ndarray, list[slice | np.ndarray]]:
    """The sorted union of ascending int64 timestamp arrays and each array's positions in it (a slice for
    every array when all are equal). Each distinct calendar is merged once: calendars repeat (34 of the 36
    sample symbols trade NYSE days)."""
    first = stamps[0]
    if all(len(s) == len(first) and np.array_equal(s, first) for s in stamps[1:]):
        return first, [slice(None)] * len(stamps)
    distinct: list[np.ndarray] = []
    for a in stamps:
        if not any(len(d) == len(a) and np.array_equal(d, a) for d in distinct):
            distinct.append(a)
    union = np.unique(np.concatenate(distinct))
    return union, [np.searchsorted(union, a) for a in stamps]

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
WRAP_MIN_BARS = 100_000
"""From this many bars, one symbol's frame is wrapped, not copied (`MarketData._wrap_one`): pandas' per-frame
overhead (~0.5 ms for the five fields) is less than copying the bars (~4 ms at 1M bars on the reference box);
below it copying is cheaper. Both give the same MarketData."""


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
            same_columns = frame.columns is ref.columns or list(frame.columns) == list(ref.columns)
            if not frame.index.equals(ref.index) or not same_columns:
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
        if len(frames) == 1 and len(next(iter(frames.values())).index) >= WRAP_MIN_BARS:
            return cls._wrap_one(*next(iter(frames.items())))
        indexes = [df.index for df in frames.values()]
        index, positions = _union(indexes)
        shape = (len(FIELDS), len(frames), len(index))
        # every frame on the one index: each cell is written below, so no NaN fill first (2-3 ms on 1M bars)
        out = np.empty(shape) if all(isinstance(p, slice) for p in positions) else np.full(shape, np.nan)
        for j, (df, pos) in enumerate(zip(frames.values(), positions)):
            out[:, j, pos] = _field_rows(df)
        return cls.from_blocks(out, index, list(frames))

    @classmethod
    def _wrap_one(cls, symbol: str, df: pd.DataFrame) -> MarketData:
        """One symbol's frame as MarketData without copying its bars: each field a one-column frame over the
        frame's own column (pandas' copy-on-write keeps the two apart if either is written later); a copy only
        where a column is not float64. The same values, index and columns as the aligned path."""
        columns = pd.Index([symbol], name="symbol")
        fields = {}
        for f in FIELDS:
            column = df[f]
            frame = (column if column.dtype == np.float64 else column.astype("float64")).to_frame(symbol)
            frame.columns = columns
            fields[f] = frame
        return cls(**fields)

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


def union_index(indexes: Sequence[pd.Index]) -> pd.Index:
    """The sorted union of `indexes`: the index `MarketData.from_frames` aligns frames with these indexes on."""
    return _union(list(indexes))[0]


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
    every array when all are equal).

    Calendars repeat and nest: 34 of the 36 sample symbols trade NYSE days, most of them from a later listing
    on, so their stamps are the tail of another symbol's. Such a tail adds nothing to the union and its
    positions are the tail of that array's positions: only the arrays that are no earlier array's tail (the
    roots) are merged and searched, once each."""
    first = stamps[0]
    if all(len(s) == len(first) and np.array_equal(s, first) for s in stamps[1:]):
        return first, [slice(None)] * len(stamps)
    roots: list[np.ndarray] = []
    tail_of: list[tuple[int, int]] = []  # per array: (its root, where it starts in the root)
    for a in stamps:
        for r, root in enumerate(roots):
            start = len(root) - len(a)
            if start >= 0 and np.array_equal(root[start:], a):
                tail_of.append((r, start))
                break
        else:
            roots.append(a)
            tail_of.append((len(roots) - 1, 0))
    only = roots[0]
    if len(roots) == 1 and bool(np.all(only[1:] > only[:-1])):
        union = only
    else:
        union = np.unique(np.concatenate(roots))
    root_positions = [np.searchsorted(union, root) for root in roots]
    return union, [root_positions[r][start:] for r, start in tail_of]

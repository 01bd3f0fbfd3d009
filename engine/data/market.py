"""`MarketData`: aligned wide OHLCV frames, the one shape every strategy and the simulator read."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from engine.errors import DataError

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
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> "MarketData":
        """Align per-symbol frames (columns open, high, low, close, volume; sorted index) on their union index."""
        if not frames:
            raise DataError("no symbols given: MarketData needs at least one symbol")
        index = None
        for sym, df in frames.items():
            missing = [f for f in FIELDS if f not in df.columns]
            if missing:
                raise DataError(f"symbol {sym!r}: missing columns {missing}")
            index = df.index if index is None else index.union(df.index)
        assert index is not None
        wide = {
            f: pd.DataFrame({sym: df[f].astype("float64") for sym, df in frames.items()}, index=index)
            for f in FIELDS
        }
        for f in FIELDS:
            wide[f].columns.name = "symbol"
        return cls(**wide)

    @property
    def symbols(self) -> list[str]:
        return [str(c) for c in self.close.columns]

    @property
    def index(self) -> pd.Index:
        return self.close.index

    def __len__(self) -> int:
        return len(self.close.index)

    def field(self, name: str) -> pd.DataFrame:
        if name not in FIELDS:
            raise DataError(f"unknown field {name!r}; expected one of {FIELDS}")
        return getattr(self, name)

    def select(self, symbols: Sequence[str]) -> "MarketData":
        """The same bars for a subset of symbols (rows where none of them has a bar are dropped)."""
        unknown = [s for s in symbols if s not in self.close.columns]
        if unknown:
            raise DataError(f"unknown symbol(s) {unknown}; available: {self.symbols}")
        cols = list(symbols)
        keep = self.close[cols].notna().any(axis=1).to_numpy()
        return MarketData(**{f: getattr(self, f).loc[keep, cols] for f in FIELDS})

    def slice(self, start: object | None = None, end: object | None = None) -> "MarketData":
        """Bars with start <= timestamp <= end (either bound optional). Raises DataError if nothing is left."""
        idx = self.index
        mask = np.ones(len(idx), dtype=bool)
        if start is not None:
            mask &= idx >= pd.Timestamp(start)
        if end is not None:
            mask &= idx <= pd.Timestamp(end)
        if not mask.any():
            raise DataError(
                f"no bars between {start} and {end}; data covers {idx[0]} .. {idx[-1]}" if len(idx) else "no bars at all"
            )
        return MarketData(**{f: getattr(self, f).loc[mask] for f in FIELDS})

    def head(self, n: int) -> "MarketData":
        """The first `n` bars: what was known at the close of bar n-1 (used by the look-ahead audit)."""
        return MarketData(**{f: getattr(self, f).iloc[:n] for f in FIELDS})

    def to_arrays(self) -> dict[str, np.ndarray]:
        """C-contiguous float64 arrays (bars x symbols) for the compiled kernels."""
        return {f: np.ascontiguousarray(getattr(self, f).to_numpy(dtype="float64")) for f in FIELDS}

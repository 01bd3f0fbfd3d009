"""The screener: rank a universe by one column, as of its last bar (or an as-of date), with filters and a top N.

Every column is computed from the bars up to and including the as-of bar only (the data is cut there before
anything is computed), so a value at as-of never changes when later bars change (tests/engine/
test_screen_lookahead.py). Columns are in engine.research.screen_columns; filters in screen_filters.

`run_screen(spec)` loads the universe (a list of symbols, or `watchlist: NAME` through
engine.store.watchlists), computes the rank column, the filter columns and any extra columns, keeps the rows
passing every filter, sorts them (the metric's own direction for a registry metric, descending otherwise,
unless `ascending` says) and keeps the top N. The table is indexed by symbol with a `rank` column (1 = best).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.config import EQUAL_WEIGHT
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.errors import ConfigError, DataError
from engine.metrics import registry
from engine.research.screen_columns import Column, compute_column, parse_column
from engine.research.screen_filters import apply_filters, parse_filters
from engine.store.watchlists import expand_symbols
from engine.validation import FORBID, parse, validated

DEFAULT_LOOKBACK = 252
"""Bars a registry-metric column looks back over when its key has no `_N`."""


@validated("screen")
@pydantic_dataclass(frozen=True, config=FORBID)
class ScreenSpec:
    """What to screen. symbols: tickers and/or `watchlist: NAME` items (or one comma-separated text). rank: the
    column to sort by. filters: `COLUMN OP VALUE` texts. columns: extra columns to show. top: keep the best N
    (None = all). asof: ISO date of the last bar used (None = the newest). ascending: None = the rank column's
    own direction. benchmark: a symbol or "equal_weight" (of the universe) for benchmark metrics.
    data_source: as in a BacktestRequest (None = the default source)."""

    symbols: Sequence[str] | str
    rank: str
    filters: Sequence[str] = ()
    columns: Sequence[str] = ()
    top: int | None = None
    asof: str | None = None
    ascending: bool | None = None
    lookback: int = DEFAULT_LOOKBACK
    benchmark: str = EQUAL_WEIGHT
    data_source: str | None = None

    def universe(self) -> list[str]:
        """The symbols, watchlists expanded, upper case, without duplicates; DataError when none is left."""
        raw = self.symbols.split(",") if isinstance(self.symbols, str) else list(self.symbols)
        expanded = expand_symbols([str(s).strip() for s in raw if str(s).strip()])
        out: list[str] = []
        for sym in (str(s).strip().upper() for s in expanded):
            if sym and sym not in out:
                out.append(sym)
        if not out:
            raise DataError("screen: no symbols; give symbols or a watchlist")
        return out

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("filters", "columns"):
            out[key] = list(out[key])
        if not isinstance(self.symbols, str):
            out["symbols"] = list(self.symbols)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ScreenSpec:
        return parse(cls, dict(values), "screen")


@dataclass
class ScreenResult:
    """table: the kept rows, best first, indexed by symbol (`rank` 1..n, then the rank column, the filter
    columns and the extras). all_rows: every symbol before filtering and top N (unsorted). asof: the last bar."""

    spec: ScreenSpec
    table: pd.DataFrame
    all_rows: pd.DataFrame
    asof: pd.Timestamp
    ascending: bool
    notes: list[str] = field(default_factory=list)

    @property
    def symbols(self) -> list[str]:
        return [str(s) for s in self.table.index]


def check_spec(spec: ScreenSpec) -> tuple[list[Column], Any]:
    """Validate a spec before any data is read: its columns and its filters (ConfigError naming the problem)."""
    if spec.top is not None and (isinstance(spec.top, bool) or not isinstance(spec.top, int) or spec.top < 1):
        raise ConfigError(f"screen: top {spec.top!r} must be a whole number >= 1")
    if isinstance(spec.lookback, bool) or not isinstance(spec.lookback, int) or spec.lookback < 2:
        raise ConfigError(f"screen: lookback {spec.lookback!r} must be a whole number >= 2 bars")
    filters = parse_filters(spec.filters)
    keys = [spec.rank, *(f.column for f in filters), *spec.columns]
    columns: list[Column] = []
    for key in keys:
        if key not in [c.key for c in columns]:
            columns.append(parse_column(key, spec.lookback))
    return columns, filters


def load_universe(spec: ScreenSpec) -> MarketData:
    """The universe's bars up to the as-of date (inclusive), nothing after it."""
    return load_market_data(spec.universe(), None, spec.asof, spec.data_source)


def run_screen(spec: ScreenSpec, data: MarketData | None = None) -> ScreenResult:
    """Screen `spec`'s universe (see the module docstring). `data`: bars to use instead of loading them (cut at
    `spec.asof` all the same)."""
    columns, filters = check_spec(spec)
    data = load_universe(spec) if data is None else data
    if spec.asof is not None:
        data = cut(data, spec.asof)
    if len(data) == 0:
        raise DataError(f"screen: no bars up to {spec.asof}")
    bench = benchmark_returns(data, spec)
    frame = pd.DataFrame(index=pd.Index(list(data.symbols), name="symbol"))
    for col in columns:
        frame[col.key] = compute_column(col, data, bench).reindex(frame.index)
    frame.insert(0, "last_bar", [_last_bar(data, s) for s in frame.index])
    ascending = spec.ascending if spec.ascending is not None else _ascending(columns[0])
    kept = apply_filters(frame, filters)
    ranked = sort_table(kept, spec.rank, ascending)
    if spec.top is not None:
        ranked = ranked.head(spec.top)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ScreenResult(spec, ranked, frame, pd.Timestamp(data.index[-1]), ascending)


def cut(data: MarketData, asof: str) -> MarketData:
    """`data` up to the as-of date, inclusive of every bar of that day."""
    end = pd.Timestamp(asof)
    stop = end + pd.Timedelta(days=1) if end == end.normalize() else end + pd.Timedelta(microseconds=1)
    n = int(np.searchsorted(data.index.to_numpy(), stop.to_datetime64(), side="left"))
    return data.head(n)


def sort_table(table: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    """Rows sorted by `column` (missing values last; ties by symbol)."""
    return table.sort_values([column], ascending=ascending, na_position="last", kind="stable")


def _ascending(column: Column) -> bool:
    if column.kind == "metric":
        return not registry.higher_is_better(column.name)
    return False


def _last_bar(data: MarketData, symbol: str) -> str | None:
    col = data.close[symbol].dropna()
    return pd.Timestamp(col.index[-1]).date().isoformat() if len(col) else None


def benchmark_returns(data: MarketData, spec: ScreenSpec) -> pd.Series:
    """Per-bar benchmark returns on `data`'s index: the equal weight of the universe (mean of the symbols'
    returns on each bar), or one symbol's (loaded up to as-of when not in the universe)."""
    if spec.benchmark == EQUAL_WEIGHT:
        returns = data.close.pct_change(fill_method=None)
        return returns.mean(axis=1, skipna=True)
    symbol = str(spec.benchmark).strip().upper()
    if symbol in data.symbols:
        close = data.close[symbol]
    else:
        close = load_market_data([symbol], None, spec.asof, spec.data_source).close[symbol]
        close = close.reindex(data.index)
    return close.pct_change(fill_method=None)


def result_records(result: ScreenResult) -> list[dict[str, Any]]:
    """The table as JSON-ready rows (NaN -> None)."""
    rows = []
    for sym, row in result.table.iterrows():
        rec: dict[str, Any] = {"symbol": sym}
        for key, value in row.items():
            if isinstance(value, (float, np.floating)):
                rec[str(key)] = None if math.isnan(value) else float(value)
            elif isinstance(value, np.integer):
                rec[str(key)] = int(value)
            else:
                rec[str(key)] = value
        rows.append(rec)
    return rows

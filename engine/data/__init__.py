"""Market data: sources, validation, the Parquet cache, and aligned `MarketData`.

Typical use::

    from engine.data import load_market_data
    data = load_market_data(["SPY", "TLT"], start="2010-01-01")   # bundled sample + workspace imports

Modules: `validate` (one file -> standard frame, or DataError naming file/row/problem), `sources`
(DataSource protocol; folder, bundled, workspace, combined), `imports` (import files into the workspace),
`cache` (Parquet cache), `loader` (load_market_data), `info` (symbol_info, data_fingerprint),
`market` (MarketData); intraday: `timeframes` (parse_timeframe, resample on a session), `visibility`
(closed_index, align_closed: a higher-timeframe bar seen only once closed), `frequency` (bars per year).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.data.cache import clear_cache, load_cached
    from engine.data.imports import ImportedSymbol, ImportReport, delete_imported, import_files
    from engine.data.info import data_fingerprint, symbol_info
    from engine.data.loader import available_symbols, load_market_data
    from engine.data.market import FIELDS, MarketData
    from engine.data.sources import (
        SAMPLE_DIR,
        BundledSource,
        CombinedSource,
        DataSource,
        FolderSource,
        WorkspaceSource,
        get_source,
    )
    from engine.data.timeframes import Timeframe, parse_timeframe, resample
    from engine.data.validate import normalize_bars, read_bars
    from engine.data.visibility import align_closed, closed_index

_HOME = {
    "clear_cache": "cache",
    "load_cached": "cache",
    "ImportedSymbol": "imports",
    "ImportReport": "imports",
    "delete_imported": "imports",
    "import_files": "imports",
    "data_fingerprint": "info",
    "symbol_info": "info",
    "available_symbols": "loader",
    "load_market_data": "loader",
    "FIELDS": "market",
    "MarketData": "market",
    "SAMPLE_DIR": "sources",
    "BundledSource": "sources",
    "CombinedSource": "sources",
    "DataSource": "sources",
    "FolderSource": "sources",
    "WorkspaceSource": "sources",
    "get_source": "sources",
    "Timeframe": "timeframes",
    "parse_timeframe": "timeframes",
    "resample": "timeframes",
    "normalize_bars": "validate",
    "read_bars": "validate",
    "align_closed": "visibility",
    "closed_index": "visibility",
}
"""Each public name -> the module that defines it. `from engine.data import MarketData` imports engine.data.market
alone (PEP 562), not the sources, the Parquet cache, the importers and the loader (~20 ms of a fresh process's first
backtest from frames, issue 19 item 4)."""


def __getattr__(name: str) -> Any:
    """A public name of the package, imported from its module on first use (then cached as a package global)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = [
    "FIELDS",
    "SAMPLE_DIR",
    "Timeframe",
    "BundledSource",
    "CombinedSource",
    "DataSource",
    "FolderSource",
    "ImportReport",
    "ImportedSymbol",
    "MarketData",
    "WorkspaceSource",
    "align_closed",
    "available_symbols",
    "clear_cache",
    "closed_index",
    "data_fingerprint",
    "delete_imported",
    "get_source",
    "import_files",
    "load_cached",
    "load_market_data",
    "normalize_bars",
    "parse_timeframe",
    "read_bars",
    "resample",
    "symbol_info",
]

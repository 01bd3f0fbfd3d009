"""Cached data loads for the pages (`st.cache_data`): symbol lists, symbol tables and bars.

The cache key is the arguments plus the workspace path; `clear()` after an import or a delete. The engine
keeps its own Parquet cache underneath, so a cleared Streamlit cache only costs a fast re-read.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.data import available_symbols, get_source, load_market_data, symbol_info
from engine.data.loader import timeframe_choices
from engine.data.market import MarketData
from engine.store.workspace import workspace_dir


def _home() -> str:
    return str(workspace_dir())


@st.cache_data(show_spinner=False, ttl=600)
def _symbols(source: str | None, home: str) -> list[str]:
    return list(available_symbols(get_source(source)))


def symbols(source: str | None = None) -> list[str]:
    """Symbols of the default source (workspace imports, then the bundled sample) or of `source`."""
    return _symbols(source, _home())


@st.cache_data(show_spinner=False, ttl=600)
def _symbol_table(source: str | None, home: str) -> pd.DataFrame:
    return symbol_info(get_source(source))


def symbol_table(source: str | None = None) -> pd.DataFrame:
    """One row per symbol: symbol, source, first, last, bars, largest_gap_days, gaps."""
    return _symbol_table(source, _home())


@st.cache_data(show_spinner="Loading bars ...", max_entries=32, ttl=3600)
def _bars(
    symbols: tuple[str, ...], start: str | None, end: str | None, source: str | None, home: str, timeframe: str | None
) -> MarketData:
    return load_market_data(list(symbols), start, end, get_source(source), timeframe=timeframe)


def market_data(
    symbols: tuple[str, ...],
    start: str | None = None,
    end: str | None = None,
    source: str | None = None,
    timeframe: str | None = None,
) -> MarketData:
    """Aligned bars of `symbols` between start and end (inclusive ISO dates), resampled to `timeframe` when given;
    raises DataError."""
    return _bars(tuple(symbols), start, end, source, _home(), timeframe)


@st.cache_data(show_spinner=False, ttl=600)
def _timeframes(symbols: tuple[str, ...], source: str | None, home: str) -> list[str]:
    return timeframe_choices(list(symbols), get_source(source))


def timeframes(symbols: tuple[str, ...], source: str | None = None) -> list[str]:
    """The timeframes intraday `symbols` can be resampled to ([] when none is intraday)."""
    return _timeframes(tuple(symbols), source, _home())


def clear() -> None:
    """Forget cached lists and bars (after an import, a fetch or a delete)."""
    _symbols.clear()
    _symbol_table.clear()
    _bars.clear()
    _timeframes.clear()

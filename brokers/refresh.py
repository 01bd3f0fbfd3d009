"""Fresh bars before signals (`ivybt signals|rebalance --refresh`): a broker's daily bars into the workspace.

The preset's symbols are downloaded from the broker's bar source (the registry's `bars`: Alpaca market data in
brokers.alpaca.bars, IBKR historical data through TWS / IB Gateway in brokers.ibkr.bars) and imported into the
workspace (`engine.data.import_files`, the same validation and atomic writes as the Data page's import). The workspace comes first in the default data
source, so the signals, the paper broker's prices and every page then use these bars. The paper broker has no
bar source of its own: refreshing for it names the brokers that have one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from brokers.base import Broker, BrokerConfigError
from brokers.registry import BAR_BROKERS, entry, load
from engine.data import import_files
from engine.data.sources import DataSource
from engine.errors import DataError


@dataclass(frozen=True)
class Refreshed:
    """One refreshed symbol: how many daily bars were imported and their date range."""

    symbol: str
    bars: int
    first: pd.Timestamp
    last: pd.Timestamp


def bar_symbols(symbols: Sequence[str] | str, where: str) -> list[str]:
    """A bar source's symbols: stripped, upper case, sorted, unique; DataError (naming `where`) when none."""
    items = [symbols] if isinstance(symbols, str) else list(symbols)
    out = sorted({str(s).strip().upper() for s in items if str(s).strip()})
    if not out:
        raise DataError(f"{where}: no symbols configured")
    return out


def utc_today() -> str:
    """Today's UTC date (ISO): part of a bar source's fingerprint, so the cache downloads once a day."""
    return datetime.now(UTC).date().isoformat()


def bar_source(broker_name: str, symbols: Sequence[str], start: Any = None, broker: Broker | None = None) -> DataSource:
    """The daily-bar source of a broker (the registry's `bars`; settings and keys from the environment, like
    `make_broker`).

    broker: an existing adapter to reuse (its connection) where the source can (IBKR); ignored otherwise.
    """
    path = entry(broker_name).bars
    if path is None:
        raise BrokerConfigError(
            f"--refresh: broker {broker_name!r} has no bar source; use one of {BAR_BROKERS} "
            f"(e.g. --broker alpaca), or import fresh data on the Data page"
        )
    source: DataSource = load(path)(symbols, start=start, broker=broker)
    return source


def refresh_bars(source: DataSource, symbols: Sequence[str]) -> list[Refreshed]:
    """Download every symbol from `source` and import it into the workspace; DataError names what failed."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for sym in symbols:
            path = Path(tmp) / f"{sym}.parquet"
            source.load(sym).to_parquet(path)
            paths.append(path)
        report = import_files(paths)
        if report.errors:
            bad = "; ".join(m.replace(tmp + "/", "") for m in report.errors.values())
            raise DataError(f"refresh from {source.name}: {bad}")
    return [Refreshed(i.symbol, i.bars, i.first, i.last) for i in report.imported]


def close_source(source: DataSource) -> None:
    """Release a bar source's connection if it holds one (IBKR)."""
    close = getattr(source, "close", None)
    if close is not None:
        close()

"""Fresh bars before signals (`ivybt signals|rebalance --refresh`): a broker's daily bars into the workspace.

The preset's symbols are downloaded from the broker's bar source (`brokers.bars`: Alpaca market data, or IBKR
historical data through TWS / IB Gateway) and imported into the workspace (`engine.data.import_files`, the
same validation and atomic writes as the Data page's import). The workspace comes first in the default data
source, so the signals, the paper broker's prices and every page then use these bars. The paper broker has no
bar source of its own: refreshing for it names the brokers that have one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from brokers.base import BrokerConfigError
from engine.data.sources import DataSource
from engine.errors import DataError

BAR_BROKERS: tuple[str, ...] = ("alpaca", "ibkr")


@dataclass(frozen=True)
class Refreshed:
    """One refreshed symbol: how many daily bars were imported and their date range."""

    symbol: str
    bars: int
    first: pd.Timestamp
    last: pd.Timestamp


def bar_source(broker_name: str, symbols: Sequence[str], start: Any = None, broker: Any = None) -> DataSource:
    """The daily-bar source of a broker (settings and keys from the environment, like `make_broker`).

    broker: an existing `IbkrBroker` to reuse (its connection); ignored for Alpaca.
    """
    from brokers import _env_settings

    if broker_name == "alpaca":
        from brokers.bars import AlpacaBarsSource

        settings = _env_settings("alpaca")
        return AlpacaBarsSource(
            symbols,
            start=start or "2000-01-01",
            data_url=settings.get("data_url"),
            feed=settings.get("feed") or os.environ.get("ALPACA_FEED") or None,
        )
    if broker_name == "ibkr":
        from brokers.bars import IbkrBarsSource

        if broker is not None:
            return IbkrBarsSource(symbols, broker=broker)
        settings = _env_settings("ibkr")
        return IbkrBarsSource(
            symbols,
            host=settings.get("host", "127.0.0.1"),
            port=settings.get("port"),
            client_id=int(settings.get("client_id", 1)) + 100,
        )
    raise BrokerConfigError(
        f"--refresh: broker {broker_name!r} has no bar source; use one of {BAR_BROKERS} "
        f"(e.g. --broker alpaca), or import fresh data on the Data page"
    )


def refresh_bars(source: DataSource, symbols: Sequence[str]) -> list[Refreshed]:
    """Download every symbol from `source` and import it into the workspace; DataError names what failed."""
    from engine.data import import_files

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

"""`AlpacaBarsSource`: Alpaca's historical daily bars as an engine `DataSource`.

It implements the engine's DataSource protocol (name, symbols(), load(symbol), fingerprint(symbol)) and builds
its frames with `engine.data.validate.normalize_bars`, so it returns the same standard frame as the bundled
data: DatetimeIndex "date" (session date, tz-naive), float64 open/high/low/close/volume, validated. Prices are
split- and dividend-adjusted (`adjustment=all`), like the bundled sample. Use it with
`engine.data.load_market_data(symbols, source=AlpacaBarsSource([...]))`.

Download failures (network, keys) are reported as `DataError` naming the source and symbol, because data
callers handle engine errors; the broker error is chained as the cause. The fingerprint includes today's
UTC date, so the engine's Parquet cache downloads each symbol at most once a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
from alpaca.data.enums import Adjustment
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from brokers.alpaca.faults import read
from brokers.alpaca.http import configure
from brokers.alpaca.settings import clean_url, credentials, env_settings
from brokers.alpaca.translate import expect
from brokers.base import BrokerError
from brokers.refresh import bar_symbols, utc_today
from engine.data.sources import unknown_symbol
from engine.data.validate import normalize_bars
from engine.errors import DataError

EXCHANGE_TZ = "America/New_York"


def _when(value: str | date | datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise DataError(f"alpaca bars: {field} {value!r} is not a date") from e
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


class AlpacaBarsSource:
    """Daily bars from Alpaca's market-data API (alpaca-py `StockHistoricalDataClient.get_stock_bars`).

    Args:
        symbols: the symbols this source offers.
        start, end: date range (end None = up to the latest bar).
        api_key, secret_key: default from the environment (see brokers.alpaca.settings).
        data_url: endpoint override (tests, proxies).
        feed: "iex" (free accounts) or "sip"; None = the account's default.
    """

    def __init__(
        self,
        symbols: Sequence[str] | str,
        start: str | date | datetime | None = "2000-01-01",
        end: str | date | datetime | None = None,
        *,
        api_key: str | None = None,
        secret_key: str | None = None,
        data_url: str | None = None,
        feed: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._symbols = bar_symbols(symbols, "alpaca bars")
        self.start, self.end = _when(start, "start"), _when(end, "end")
        self.feed = feed
        self.name = f"alpaca-bars:{feed or 'default'}"
        key, secret = credentials(api_key, secret_key)
        self._client = StockHistoricalDataClient(key, secret, url_override=clean_url(data_url, "data_url"))
        configure(self._client, timeout)

    def __repr__(self) -> str:
        return f"AlpacaBarsSource({len(self._symbols)} symbols, feed={self.feed!r})"

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def fingerprint(self, symbol: str) -> str:
        return f"{self.name}|{self.start}|{self.end}|all|{utc_today()}"

    def load(self, symbol: str) -> pd.DataFrame:
        """One symbol's adjusted daily bars; each bar is dated by its New York session date."""
        sym = symbol.strip().upper()
        if sym not in self._symbols:
            raise unknown_symbol(sym, self._symbols, self.name)
        req = StockBarsRequest(
            symbol_or_symbols=sym,
            timeframe=TimeFrame.Day,
            start=self.start,
            end=self.end,
            adjustment=Adjustment.ALL,
            feed=self.feed,
        )
        try:
            found = read(lambda: self._client.get_stock_bars(req), f"bars {sym}")  # a 429 waits its Retry-After
            rows = expect(found, BarSet, f"bars {sym}").data.get(sym, [])
        except BrokerError as e:
            raise DataError(f"alpaca:{sym}: download failed: {e}") from e
        if not rows:
            span = f"{self.start or 'the start'} .. {self.end or 'the latest bar'}"
            raise DataError(f"alpaca:{sym}: no daily bars returned for {span}")
        stamps = pd.DatetimeIndex([b.timestamp for b in rows])
        stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps
        raw = pd.DataFrame(
            {
                "date": stamps.tz_convert(EXCHANGE_TZ).tz_localize(None).normalize(),
                "open": [b.open for b in rows],
                "high": [b.high for b in rows],
                "low": [b.low for b in rows],
                "close": [b.close for b in rows],
                "volume": [b.volume for b in rows],
            }
        )
        return normalize_bars(raw, origin=f"alpaca:{sym}")


def bar_source(symbols: Sequence[str], start: Any = None, broker: Any = None) -> AlpacaBarsSource:
    """The registry's bar source: data URL, feed and timeout from the environment (ALPACA_DATA_URL, ALPACA_FEED,
    IVYBT_ALPACA_TIMEOUT), keys as for the adapter; `broker` is not needed (market data has its own client)."""
    settings = env_settings()
    return AlpacaBarsSource(
        symbols,
        start=start or "2000-01-01",
        data_url=settings.get("data_url"),
        feed=settings.get("feed") or None,
        timeout=settings.get("timeout", 30.0),
    )

"""Broker historical daily bars as engine `DataSource`s: `AlpacaBarsSource` and `IbkrBarsSource`.

Both implement the engine's DataSource protocol (name, symbols(), load(symbol), fingerprint(symbol)) and build
their frames with `engine.data.validate.normalize_bars`, so they return the same standard frame as the
bundled data: DatetimeIndex "date" (session date, tz-naive), float64 open/high/low/close/volume, validated.
Prices are split- and dividend-adjusted (Alpaca `adjustment=all`, IBKR `ADJUSTED_LAST`), like the bundled
sample. Use them with `engine.data.load_market_data(symbols, source=AlpacaBarsSource([...]))`.

Download failures (network, keys) are reported as `DataError` naming the source and symbol, because data
callers handle engine errors; the broker error is chained as the cause. The fingerprint includes today's
UTC date, so the engine's Parquet cache downloads each symbol at most once a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pandas as pd
from alpaca.data.enums import Adjustment
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from brokers.alpaca import _set_timeout, alpaca_credentials, clean_url, translate_errors
from brokers.base import BrokerError
from brokers.ibkr import IbkrBroker
from engine.data.sources import unknown_symbol
from engine.data.validate import normalize_bars
from engine.errors import DataError

EXCHANGE_TZ = "America/New_York"


def _symbols(symbols: Sequence[str] | str, where: str) -> list[str]:
    items = [symbols] if isinstance(symbols, str) else list(symbols)
    out = sorted({str(s).strip().upper() for s in items if str(s).strip()})
    if not out:
        raise DataError(f"{where}: no symbols configured")
    return out


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


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
        api_key, secret_key: default from the environment (see brokers.alpaca).
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
        self._symbols = _symbols(symbols, "alpaca bars")
        self.start, self.end = _when(start, "start"), _when(end, "end")
        self.feed = feed
        self.name = f"alpaca-bars:{feed or 'default'}"
        key, secret = alpaca_credentials(api_key, secret_key)
        self._client = StockHistoricalDataClient(key, secret, url_override=clean_url(data_url, "data_url"))
        _set_timeout(self._client, timeout)

    def __repr__(self) -> str:
        return f"AlpacaBarsSource({len(self._symbols)} symbols, feed={self.feed!r})"

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def fingerprint(self, symbol: str) -> str:
        return f"{self.name}|{self.start}|{self.end}|all|{_today()}"

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
            with translate_errors(f"bars {sym}"):
                rows = self._client.get_stock_bars(req).data.get(sym, [])
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


class IbkrBarsSource:
    """Daily bars from TWS / IB Gateway (`reqHistoricalData`, 1 day bars, regular trading hours).

    Args:
        symbols: the symbols this source offers (SMART/USD stocks).
        broker: an `IbkrBroker` to reuse (its connection and loop thread); else one is made from host, port,
            client_id and closed by `close()`.
        duration: IB duration string, e.g. "30 Y", "6 M".
        what_to_show: "ADJUSTED_LAST" (split/dividend adjusted, the default) or "TRADES".
    """

    def __init__(
        self,
        symbols: Sequence[str] | str,
        broker: IbkrBroker | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        client_id: int = 11,
        duration: str = "30 Y",
        what_to_show: str = "ADJUSTED_LAST",
        timeout: float = 20.0,
    ) -> None:
        self._symbols = _symbols(symbols, "ibkr bars")
        self._own = broker is None
        self.broker = broker or IbkrBroker(host=host, port=port, client_id=client_id, timeout=timeout)
        self.duration, self.what_to_show = duration, what_to_show
        self.name = f"ibkr-bars:{what_to_show.lower()}"

    def __repr__(self) -> str:
        return f"IbkrBarsSource({len(self._symbols)} symbols, {self.duration}, {self.what_to_show})"

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def fingerprint(self, symbol: str) -> str:
        return f"{self.name}|{self.duration}|{_today()}"

    def load(self, symbol: str) -> pd.DataFrame:
        sym = symbol.strip().upper()
        if sym not in self._symbols:
            raise unknown_symbol(sym, self._symbols, self.name)
        try:
            raw = self.broker.historical_bars(sym, duration=self.duration, what_to_show=self.what_to_show)
        except BrokerError as e:
            raise DataError(f"ibkr:{sym}: download failed: {e}") from e
        if raw.empty:
            raise DataError(f"ibkr:{sym}: no daily bars returned for the last {self.duration}")
        return normalize_bars(raw, origin=f"ibkr:{sym}")

    def close(self) -> None:
        """Close the broker connection if this source created it."""
        if self._own:
            self.broker.close()

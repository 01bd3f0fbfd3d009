"""`IbkrBarsSource`: daily bars from TWS / IB Gateway (`reqHistoricalData`) as an engine `DataSource`.

Same frame and error rules as `brokers.alpaca.bars`: `normalize_bars` builds the engine's standard frame, prices
are split- and dividend-adjusted (`ADJUSTED_LAST`), download failures are `DataError`s naming the symbol, and the
fingerprint includes today's UTC date (one download per symbol and day through the engine's cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from brokers.base import BrokerError
from brokers.ibkr.adapter import IbkrBroker
from brokers.ibkr.settings import env_settings
from brokers.refresh import bar_symbols, utc_today
from engine.data.sources import unknown_symbol
from engine.data.validate import normalize_bars
from engine.errors import DataError

BARS_CLIENT_ID_OFFSET = 100
"""A bar source made from the environment connects with IBKR_CLIENT_ID + 100 (one connection per client id)."""


class IbkrBarsSource:
    """Daily bars from TWS / IB Gateway (`reqHistoricalData`, 1 day bars, regular trading hours).

    Args:
        symbols: the symbols this source offers (SMART/USD stocks).
        broker: an `IbkrBroker` to reuse (its connection and loop thread); else one is made from host, port,
            client_id and closed by `close()`.
        duration: IB duration string, e.g. "30 Y", "6 M".
        what_to_show: "ADJUSTED_LAST" (split/dividend adjusted, the default) or "TRADES".
        timeout, pacing_wait, pacing_retries: IbkrBroker's, for the broker made here (a pacing violation waits
            and asks again; see brokers.ibkr.history).
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
        pacing_wait: float = 15.0,
        pacing_retries: int = 2,
    ) -> None:
        self._symbols = bar_symbols(symbols, "ibkr bars")
        self._own = broker is None
        self.broker = broker or IbkrBroker(
            host=host,
            port=port,
            client_id=client_id,
            timeout=timeout,
            pacing_wait=pacing_wait,
            pacing_retries=pacing_retries,
        )
        self.duration, self.what_to_show = duration, what_to_show
        self.name = f"ibkr-bars:{what_to_show.lower()}"

    def __repr__(self) -> str:
        return f"IbkrBarsSource({len(self._symbols)} symbols, {self.duration}, {self.what_to_show})"

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def fingerprint(self, symbol: str) -> str:
        return f"{self.name}|{self.duration}|{utc_today()}"

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


def bar_source(symbols: Sequence[str], start: Any = None, broker: Any = None) -> IbkrBarsSource:
    """The registry's bar source: reuses `broker` (an IbkrBroker: its connection), else connects with the
    environment's settings and its own client id. `start` is not used (IB takes a duration: 30 Y)."""
    if isinstance(broker, IbkrBroker):
        return IbkrBarsSource(symbols, broker=broker)
    settings = env_settings()
    waits = {k: settings[k] for k in ("timeout", "pacing_wait") if k in settings}
    return IbkrBarsSource(
        symbols,
        host=settings.get("host", "127.0.0.1"),
        port=settings.get("port"),
        client_id=int(settings.get("client_id", 1)) + BARS_CLIENT_ID_OFFSET,
        **waits,
    )

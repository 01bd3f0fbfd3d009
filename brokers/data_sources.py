"""The brokers' daily-bar sources as sources of `ivybt data update` and the Data page's Update button.

The engine keeps a registry of update sources (`engine.data.update_sources`; Stooq, keyless, is its default)
and never imports brokers/. Importing this module adds one entry per broker of the registry that has a bar
source (`brokers.registry.BAR_BROKERS`: alpaca, ibkr), made with `brokers.refresh.bar_source`: keys, data URL
and connection settings from the environment, like `--refresh`. It is imported by the broker CLI plugin (so
`ivybt data update --source alpaca` works) and by the app's Data page.

Both brokers' bars are split- and dividend-adjusted (Alpaca ``adjustment=all``, IBKR ``ADJUSTED_LAST``). A
broker that cannot be used (keys missing, TWS not reachable) is one `DataError` naming the broker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from brokers.base import BrokerError
from brokers.refresh import bar_source
from brokers.registry import BAR_BROKERS
from engine.data.sources import DataSource
from engine.data.update_sources import UpdateSource, register_update_source
from engine.errors import DataError

ADJUSTMENT = "split- and dividend-adjusted"


def _opener(broker: str) -> Callable[[Sequence[str], Any], DataSource]:
    def open_source(symbols: Sequence[str], start: Any = None) -> DataSource:
        try:
            return bar_source(broker, symbols, start)
        except BrokerError as exc:
            raise DataError(f"{broker}: cannot download bars: {exc}") from exc

    return open_source


def register() -> list[str]:
    """Register every broker bar source (idempotent); returns their names."""
    for name in BAR_BROKERS:
        register_update_source(UpdateSource(name, _opener(name), ADJUSTMENT))
    return list(BAR_BROKERS)


register()

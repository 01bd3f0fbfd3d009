"""Where `ivybt data update` and the Data page's Update button download bars from: a registry of named sources.

The engine registers the keyless default, ``stooq`` (`engine.data.stooq`). Broker bar sources (Alpaca, IBKR)
live in ``brokers/``, which the engine never imports: ``brokers.data_sources`` registers them here when it is
imported (by the broker CLI plugin, which `ivybt` loads through the ``ivybt.commands`` entry point, and by the
app's Data page). A source is a factory ``(symbols, start) -> DataSource``; the source may have ``close()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.data.sources import DataSource
from engine.data.stooq import ADJUSTMENT as STOOQ_ADJUSTMENT
from engine.data.stooq import StooqSource
from engine.errors import ConfigError

DEFAULT_UPDATE_SOURCE = "stooq"

type SourceFactory = Callable[[Sequence[str], Any], DataSource]


@dataclass(frozen=True)
class UpdateSource:
    """A named place to download daily bars from.

    Attributes:
        name: what users type (``--source NAME``).
        open: ``(symbols, start) -> DataSource``; start is the first date wanted (None = all history).
        adjustment: how its prices are adjusted ("split- and dividend-adjusted"), stated in every result.
        keyless: True when it needs no account (the default source is).
    """

    name: str
    open: SourceFactory
    adjustment: str
    keyless: bool = False


_REGISTRY: dict[str, UpdateSource] = {}


def register_update_source(source: UpdateSource) -> None:
    """Add (or replace) a source under its name."""
    _REGISTRY[source.name] = source


def update_source_names() -> list[str]:
    """Registered names, the default first."""
    return sorted(_REGISTRY, key=lambda n: (n != DEFAULT_UPDATE_SOURCE, n))


def update_source(name: str | None) -> UpdateSource:
    """The source called `name` (None = the default); ConfigError listing the registered names."""
    key = (name or DEFAULT_UPDATE_SOURCE).strip().lower()
    try:
        return _REGISTRY[key]
    except KeyError:
        raise ConfigError(f"unknown data source {name!r}: choose one of {', '.join(update_source_names())}") from None


def _open_stooq(symbols: Sequence[str], start: Any = None) -> DataSource:
    return StooqSource(symbols)  # Stooq always sends the whole history; `start` is not needed


register_update_source(UpdateSource(DEFAULT_UPDATE_SOURCE, _open_stooq, STOOQ_ADJUSTMENT, keyless=True))

"""The broker registry: one entry per broker; everything that needs the list of brokers reads it from here.

Adding a broker = one folder `brokers/<name>/` (adapter, translation tables, bar source, settings) and one
`BrokerEntry` line in `REGISTRY`. `make_broker`, the CLI's `--broker` choices, the Daily Ops page's selector
and `--refresh`'s bar sources (brokers.refresh) all derive from it.

Entries name their code by dotted path ("package.module:attribute") and `load` imports it on first use, so a
venue SDK (alpaca-py, ib_async: ~0.5 s to import) is loaded only when its adapter or bar source is made; the
paper broker never pays for it. Settings readers live in SDK-free modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from brokers.base import Broker, BrokerConfigError

EnvSettings = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class BrokerEntry:
    """One broker: its name, where its code lives, and a one-line description for selectors and help.

    adapter: "module:Class" of the `Broker` implementation. settings: "module:function" returning the
    adapter's non-secret settings from the environment (None: it reads none). bars: "module:function"
    `(symbols, start=None, broker=None) -> DataSource` making its daily-bar source from the environment
    (None: it has no bar source).
    """

    name: str
    adapter: str
    description: str
    settings: str | None = None
    bars: str | None = None


REGISTRY: tuple[BrokerEntry, ...] = (
    BrokerEntry(
        "paper",
        "brokers.paper.adapter:PaperBroker",
        "the embedded simulated account (default)",
        settings="brokers.paper.settings:env_settings",
    ),
    BrokerEntry(
        "alpaca",
        "brokers.alpaca.adapter:AlpacaBroker",
        "Alpaca through alpaca-py (paper endpoint unless live is configured)",
        settings="brokers.alpaca.settings:env_settings",
        bars="brokers.alpaca.bars:bar_source",
    ),
    BrokerEntry(
        "ibkr",
        "brokers.ibkr.adapter:IbkrBroker",
        "Interactive Brokers through ib_async against TWS / IB Gateway (paper port unless live)",
        settings="brokers.ibkr.settings:env_settings",
        bars="brokers.ibkr.bars:bar_source",
    ),
)

BROKER_NAMES: tuple[str, ...] = tuple(e.name for e in REGISTRY)
BAR_BROKERS: tuple[str, ...] = tuple(e.name for e in REGISTRY if e.bars)


def load(path: str) -> Any:
    """The object at "package.module:attribute" (imports the module; for SDK modules, only when called)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def entry(name: str) -> BrokerEntry:
    """The registry entry of `name` (case and spaces ignored); BrokerConfigError names the known brokers."""
    key = name.strip().lower()
    for e in REGISTRY:
        if e.name == key:
            return e
    raise BrokerConfigError(f"unknown broker {name!r}; expected one of {BROKER_NAMES}")


def adapter_class(name: str) -> type[Broker]:
    """The adapter class of broker `name` (importing its SDK)."""
    cls: type[Broker] = load(entry(name).adapter)
    return cls


def env_settings(name: str) -> dict[str, Any]:
    """Non-secret settings of broker `name` from the environment (keys are read by the adapter itself)."""
    path = entry(name).settings
    if path is None:
        return {}
    reader: EnvSettings = load(path)
    return reader()

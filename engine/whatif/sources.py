"""Where `ivybt whatif --broker NAME` gets its positions: a registry of named position sources.

The engine never imports brokers/: ``brokers.whatif_positions`` registers one source per broker adapter (paper,
alpaca, ibkr: the Desk's positions) when the broker CLI plugin loads it. A source is a function with no
arguments that returns the account's positions as `engine.whatif.positions.Position` records.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.errors import ConfigError
from engine.whatif.positions import Position

type PositionLoader = Callable[[], list[Position]]

_REGISTRY: dict[str, PositionLoader] = {}


def register_position_source(name: str, loader: PositionLoader) -> None:
    """Add (or replace) a source under `name` (what users type after --broker)."""
    _REGISTRY[name.strip().lower()] = loader


def position_source_names() -> list[str]:
    return sorted(_REGISTRY)


def source_positions(name: str) -> list[Position]:
    """The positions of source `name`; ConfigError for an unknown name or an account that holds nothing."""
    key = name.strip().lower()
    if key not in _REGISTRY:
        known = ", ".join(position_source_names()) or "none (the broker plugin is not installed)"
        raise ConfigError(f"--broker {name!r}: unknown position source; registered: {known}")
    positions = _REGISTRY[key]()
    if not positions:
        raise ConfigError(f"--broker {key}: the account holds no positions")
    return positions

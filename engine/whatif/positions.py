"""Positions to reprice: plain records (symbol, quantity, price; for an option its contract and implied vol).

A record is an equity (or ETF, future, anything priced by its own price) unless its symbol is an OCC option
symbol (`SPY   261218C00600000` or `SPY261218C00600000`) or it carries an OptionContract. For an option, `price` is
the premium per share, `quantity` counts contracts (value = quantity x multiplier x price), `implied_vol` is
the vol the model reprices with (solved from `price` when missing) and `underlying_price` the underlying's price
(else the price of an equity record of the underlying). The Desk (brokers/) can build these from its positions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import StrictFloat, StrictInt, StrictStr
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.errors import ConfigError
from engine.options.occ import OptionContract, is_occ_symbol
from engine.validation import FORBID, parse

Number = StrictFloat  # an int is accepted (strict mode still refuses text and booleans)


@pydantic_dataclass(frozen=True, config=FORBID)
class PositionRecord:
    """The fields a positions file may hold (the one validation path: unknown and missing fields, wrong types)."""

    symbol: StrictStr
    quantity: Number
    price: Number
    implied_vol: Number | None = None
    underlying_price: Number | None = None
    multiplier: StrictInt | None = None


@dataclass(frozen=True)
class Position:
    """One holding. `contract` None = priced by `price` alone."""

    symbol: str
    quantity: float
    price: float
    contract: OptionContract | None = None
    implied_vol: float | None = None
    underlying_price: float | None = None

    def __post_init__(self) -> None:
        _number(self.symbol, "quantity", self.quantity)
        _number(self.symbol, "price", self.price, positive=self.contract is None)
        if self.contract is not None and self.price < 0:
            raise ConfigError(f"position {self.symbol}: price {self.price:g} must be >= 0")
        if self.implied_vol is not None:
            _number(self.symbol, "implied_vol", self.implied_vol, positive=True)
        if self.underlying_price is not None:
            _number(self.symbol, "underlying_price", self.underlying_price, positive=True)

    @property
    def is_option(self) -> bool:
        return self.contract is not None


def _number(symbol: str, name: str, value: Any, positive: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"position {symbol}: {name} {value!r} must be a finite number")
    if positive and value <= 0:
        raise ConfigError(f"position {symbol}: {name} {value!r} must be > 0")


def position_from_record(record: Mapping[str, Any], where: str = "position") -> Position:
    """A Position from one JSON record; ConfigError names the record and the problem."""
    if not isinstance(record, Mapping):
        raise ConfigError(f"{where}: expected an object with symbol, quantity, price; got {record!r}")
    fields = parse(PositionRecord, dict(record), where)
    symbol = fields.symbol
    if not symbol.strip():
        raise ConfigError(f"{where}: symbol {symbol!r} must be text")
    contract = None
    if is_occ_symbol(symbol):
        multiplier = 100 if fields.multiplier is None else fields.multiplier
        contract = OptionContract.parse(symbol, multiplier=multiplier)
        symbol = contract.occ_symbol()
    else:
        for key in ("implied_vol", "underlying_price", "multiplier"):
            if key in record:
                raise ConfigError(f"{where}: {key} is for options; {symbol!r} is not an OCC option symbol")
        symbol = symbol.strip().upper()
    try:
        return Position(symbol, fields.quantity, fields.price, contract, fields.implied_vol, fields.underlying_price)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def positions_from_records(records: Sequence[Mapping[str, Any]]) -> list[Position]:
    """Positions from a list of JSON records (record n is named in an error)."""
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
        raise ConfigError(f"positions: expected a JSON list of records, got {type(records).__name__}")
    if not records:
        raise ConfigError("positions: the list is empty")
    return [position_from_record(r, f"position {i + 1}") for i, r in enumerate(records)]


def load_positions(path: str | Path) -> list[Position]:
    """Positions from a JSON file holding a list of records."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"positions file {str(path)!r} not found")
    try:
        records = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"positions file {p}: not JSON: {e}") from None
    try:
        return positions_from_records(records)
    except ConfigError as e:
        raise ConfigError(f"positions file {p}: {e}") from None

"""OCC option symbols and the option contract they name.

The OCC symbol (OSI, 2010) is 21 characters: the root padded with spaces to 6, the expiry as YYMMDD, C or P, and
the strike times 1000 as 8 digits: `SPY   261218C00600000` is the SPY call of 18 Dec 2026 at 600. Alpaca (and
others) write it without the padding: `SPY261218C00600000`. Both parse; `OptionContract.occ_symbol()` and
`.compact_symbol()` write them. Pure values, no I/O, so the broker adapters can use them later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from engine.errors import ConfigError

type Right = Literal["call", "put"]
ROOT_WIDTH = 6
STRIKE_SCALE = 1000
MAX_STRIKE_UNITS = 99_999_999
_OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}?) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
_ROOT = re.compile(r"^[A-Z0-9.]{1,6}$")


@dataclass(frozen=True)
class OptionContract:
    """One listed option: underlying root, expiry date, call or put, strike (in dollars), shares per contract."""

    underlying: str
    expiry: dt.date
    right: Right
    strike: Decimal
    multiplier: int = 100

    def __post_init__(self) -> None:
        root = str(self.underlying).strip().upper()
        if not _ROOT.match(root):
            raise ConfigError(f"option underlying {self.underlying!r}: expected 1-6 letters, digits or dots")
        object.__setattr__(self, "underlying", root)
        right = {"c": "call", "call": "call", "p": "put", "put": "put"}.get(str(self.right).strip().lower())
        if right is None:
            raise ConfigError(f"option right {self.right!r}: expected call or put")
        object.__setattr__(self, "right", right)
        if not isinstance(self.expiry, dt.date) or isinstance(self.expiry, dt.datetime):
            raise ConfigError(f"option expiry {self.expiry!r}: expected a date")
        if not 2000 <= self.expiry.year <= 2099:
            raise ConfigError(f"option expiry {self.expiry}: OCC symbols carry years 2000-2099")
        object.__setattr__(self, "strike", _strike(self.strike))
        if isinstance(self.multiplier, bool) or not isinstance(self.multiplier, int) or self.multiplier < 1:
            raise ConfigError(f"option multiplier {self.multiplier!r}: expected a whole number >= 1")

    @classmethod
    def parse(cls, symbol: str, multiplier: int = 100) -> OptionContract:
        """Read an OCC symbol, padded (`SPY   261218C00600000`) or compact (`SPY261218C00600000`)."""
        text = str(symbol).strip().upper()
        m = _OCC.match(text)
        if m is None:
            raise ConfigError(
                f"option symbol {symbol!r}: expected ROOT + YYMMDD + C|P + 8-digit strike x 1000, "
                "e.g. 'SPY   261218C00600000' or 'SPY261218C00600000'"
            )
        date = m["date"]
        try:
            expiry = dt.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))  # OCC years are 2000-2099
        except ValueError:
            raise ConfigError(f"option symbol {symbol!r}: {date} is not a date (YYMMDD)") from None
        strike = Decimal(int(m["strike"])) / STRIKE_SCALE
        return cls(m["root"], expiry, "call" if m["right"] == "C" else "put", strike, multiplier)

    def occ_symbol(self) -> str:
        """The 21-character OCC symbol, root padded with spaces: `SPY   261218C00600000`."""
        return f"{self.underlying:<{ROOT_WIDTH}}{self._tail()}"

    def compact_symbol(self) -> str:
        """The symbol without padding, as Alpaca writes it: `SPY261218C00600000`."""
        return f"{self.underlying}{self._tail()}"

    def _tail(self) -> str:
        units = int(self.strike * STRIKE_SCALE)
        return f"{self.expiry:%y%m%d}{'C' if self.right == 'call' else 'P'}{units:08d}"

    def years_to_expiry(self, asof: dt.date) -> float:
        """Calendar days from `asof` to the expiry over 365 (0 or less once expired)."""
        return (self.expiry - asof).days / 365.0


def is_occ_symbol(symbol: str) -> bool:
    """Whether `symbol` reads as an OCC option symbol (padded or compact)."""
    return _OCC.match(str(symbol).strip().upper()) is not None


def _strike(value: object) -> Decimal:
    try:
        strike = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ConfigError(f"option strike {value!r}: expected a number") from None
    units = strike * STRIKE_SCALE
    if not strike.is_finite() or strike <= 0 or units != units.to_integral_value() or units > MAX_STRIKE_UNITS:
        raise ConfigError(f"option strike {value!r}: expected > 0, at most 3 decimals, below 100000")
    return Decimal(int(units)) / STRIKE_SCALE  # one spelling per strike: 600.00 -> 600, 412.50 -> 412.5

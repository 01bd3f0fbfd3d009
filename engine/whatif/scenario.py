"""A what-if scenario: shocks to prices, to implied vols and to time, as one validated value (saved as JSON).

Prices: a per-symbol move (`symbol_shocks`) wins; else, with a `beta_shock`, the benchmark's move times the
symbol's beta to it; else the uniform `price_shock`. Moves are fractions (-0.1 = a 10 % fall). An option's
underlying moves by its underlying's move.

Vols (annual decimals): vol x `vol_scale` + `vol_shift`, then the VIX move mapped to the symbol, never below
MIN_VOL. The VIX move (`vix`, e.g. 15 -> 40) is taken as points (kind "absolute": +25 points = +0.25 of vol,
added) or as a ratio (kind "relative": 40 / 15, the vol multiplied by 1 + (40 / 15 - 1) x multiplier), with each
symbol's stated multiplier, else (map "history") its realized vol over the benchmark's in the workspace's daily
data, else 1.

Time: `days` calendar days forward; options lose that much time to expiry (an option past expiry is worth its
payoff), equities do not change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictFloat, StrictInt, StrictStr
from pydantic.dataclasses import dataclass as pydantic_dataclass

from engine.errors import ConfigError
from engine.validation import FORBID, parse, validated

MIN_VOL = 1e-4
"""A vol shock never takes a vol below this (0.01 %): a vol of 0 or less has no meaning."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_LOOKBACK = 252


def _name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError("a scenario name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    return value


def _symbols(values: dict[str, float]) -> dict[str, float]:
    return {k.strip().upper(): v for k, v in values.items()}


Move = Annotated[StrictFloat, Field(gt=-1, le=100, allow_inf_nan=False)]
"""A price move as a fraction: above -1 (a price cannot fall below 0)."""
Symbol = Annotated[StrictStr, Field(min_length=1, max_length=32)]
Lookback = Annotated[StrictInt, Field(ge=20, le=5000)]


@validated("beta shock")
@pydantic_dataclass(frozen=True, config=FORBID)
class BetaShock:
    """The benchmark moves by `move`; each symbol by its beta to the benchmark (daily returns over `lookback`
    bars up to the last bar) times that move."""

    move: Move
    benchmark: Symbol = "SPY"
    lookback: Lookback = DEFAULT_LOOKBACK


@validated("vix shock")
@pydantic_dataclass(frozen=True, config=FORBID)
class VixShock:
    """The VIX goes from `start` to `end` (index points); each symbol's vol moves by (end - start) / 100 times its
    multiplier (kind "absolute") or is multiplied by 1 + (end / start - 1) times it (kind "relative"); the
    multiplier is the stated one, else with map "history" its realized vol / the benchmark's over `lookback`
    bars, else 1."""

    start: Annotated[StrictFloat, Field(gt=0, le=1000, allow_inf_nan=False)]
    end: Annotated[StrictFloat, Field(gt=0, le=1000, allow_inf_nan=False)]
    map: Literal["history", "multiplier"] = "multiplier"
    kind: Literal["absolute", "relative"] = "absolute"
    multipliers: Annotated[
        dict[Symbol, Annotated[StrictFloat, Field(ge=0, le=100, allow_inf_nan=False)]], AfterValidator(_symbols)
    ] = field(default_factory=dict)
    benchmark: Symbol = "SPY"
    lookback: Lookback = DEFAULT_LOOKBACK

    @property
    def change(self) -> float:
        """The VIX move as a vol change (decimal): 15 -> 40 is 0.25."""
        return (self.end - self.start) / 100.0


@validated("scenario")
@pydantic_dataclass(frozen=True, config=FORBID)
class Scenario:
    """Shocks applied together (see the module docstring for the order)."""

    name: Annotated[StrictStr, AfterValidator(_name)] = "custom"
    description: Annotated[StrictStr, Field(max_length=500)] = ""
    price_shock: Move = 0.0
    symbol_shocks: Annotated[dict[Symbol, Move], AfterValidator(_symbols)] = field(default_factory=dict)
    beta_shock: BetaShock | None = None
    vol_shift: Annotated[StrictFloat, Field(ge=-5, le=5, allow_inf_nan=False)] = 0.0
    vol_scale: Annotated[StrictFloat, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0
    vix: VixShock | None = None
    days: Annotated[StrictInt, Field(ge=0, le=36500)] = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Scenario:
        """From a plain mapping (a scenario JSON file); ConfigError names the field and the wrong value."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"scenario: expected a JSON object, got {type(values).__name__}")
        return parse(cls, dict(values))

    def needs_history(self) -> bool:
        """Whether applying it reads daily data (betas, or VIX multipliers by history)."""
        return self.beta_shock is not None or (self.vix is not None and self.vix.map == "history")

    def price_move(self, symbol: str, betas: Mapping[str, float]) -> float:
        """The fractional move of `symbol`'s price (never below -1: a price ends at 0 at worst)."""
        key = symbol.upper()
        if key in self.symbol_shocks:
            return self.symbol_shocks[key]
        if self.beta_shock is not None:
            if key not in betas:
                raise ConfigError(f"scenario {self.name!r}: no beta of {symbol} to {self.beta_shock.benchmark}")
            return max(betas[key] * self.beta_shock.move, -1.0)
        return self.price_shock

    def shocked_vol(self, symbol: str, vol: float, vol_ratios: Mapping[str, float]) -> float:
        """The vol of an option on `symbol` after the vol shocks (see the module docstring)."""
        out = vol * self.vol_scale + self.vol_shift
        if self.vix is not None:
            m = vix_multiplier(self.vix, symbol, vol_ratios)
            if self.vix.kind == "absolute":
                out += self.vix.change * m
            else:
                out *= 1.0 + (self.vix.end / self.vix.start - 1.0) * m
        return max(out, MIN_VOL)


def vix_multiplier(vix: VixShock, symbol: str, vol_ratios: Mapping[str, float]) -> float:
    """The stated multiplier of `symbol`, else its vol ratio (map "history"), else 1."""
    key = symbol.upper()
    if key in vix.multipliers:
        return vix.multipliers[key]
    if vix.map == "history":
        if key not in vol_ratios:
            raise ConfigError(f"vix shock: no vol history of {symbol} (state a multiplier for it)")
        return vol_ratios[key]
    return 1.0

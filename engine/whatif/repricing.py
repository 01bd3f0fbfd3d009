"""Full repricing of every position under a scenario: equities by their price, options by the model (BSM with the
stated rate and dividend yield), the P&L per position and in total, and a grid of price x vol shocks.

The base value of an option is the model's price at its implied vol (solved from its quoted price when no vol is
given, so then it equals the quote), so a scenario's P&L is the model's alone, never a model-vs-quote gap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.data import DataSource
from engine.errors import ConfigError
from engine.options.implied_vol import implied_vol
from engine.options.pricing import DAYS_PER_YEAR, price
from engine.whatif.history import betas, load_closes, vol_ratios
from engine.whatif.positions import Position
from engine.whatif.scenario import Scenario

DEFAULT_GRID_PRICES = (-0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2)
DEFAULT_GRID_VOLS = (-0.1, -0.05, 0.0, 0.05, 0.1, 0.2)


@dataclass(frozen=True)
class Market:
    """What repricing needs besides the positions: the valuation date, the rate and dividend yield of the option
    model (annual decimals, continuous), and the betas and vol ratios a scenario may read."""

    asof: dt.date
    rate: float = 0.0
    dividend: float = 0.0
    betas: Mapping[str, float] = field(default_factory=dict)
    vol_ratios: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("rate", "dividend"):
            value = getattr(self, name)
            if not np.isfinite(value) or abs(value) > 1:
                raise ConfigError(f"{name} {value:g}: expected an annual decimal in [-1, 1] (0.04 = 4 %)")


@dataclass(frozen=True)
class Holding:
    """A position ready to reprice: its underlying, the underlying's price, the vol and years to expiry (options)."""

    position: Position
    underlying: str
    spot: float
    vol: float | None = None
    years: float | None = None

    def unit_value(self, market: Market, spot: float, vol: float | None, days: int) -> float:
        """Value of one unit (share, or one contract's worth of shares) at the given spot, vol and days forward."""
        contract = self.position.contract
        if contract is None:
            return spot
        assert vol is not None and self.years is not None
        years = max(self.years - days / DAYS_PER_YEAR, 0.0)
        value = price(contract.right, spot, float(contract.strike), years, market.rate, vol, market.dividend)
        return float(value) * contract.multiplier


@dataclass(frozen=True)
class PositionPnL:
    """One position's line: values are quantity x unit value (an option's unit is one contract)."""

    symbol: str
    kind: str
    quantity: float
    underlying: str
    underlying_price: float
    shocked_underlying_price: float
    vol: float | None
    shocked_vol: float | None
    base_value: float
    value: float
    pnl: float


@dataclass(frozen=True)
class WhatIfResult:
    scenario: Scenario
    asof: dt.date
    rows: list[PositionPnL]

    @property
    def base_value(self) -> float:
        return float(sum(r.base_value for r in self.rows))

    @property
    def value(self) -> float:
        return float(sum(r.value for r in self.rows))

    @property
    def pnl(self) -> float:
        return float(sum(r.pnl for r in self.rows))

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario.to_dict(),
            "asof": self.asof.isoformat(),
            "positions": [asdict(r) for r in self.rows],
            "total": {"base_value": self.base_value, "value": self.value, "pnl": self.pnl},
        }


@dataclass(frozen=True)
class PnLGrid:
    """Total P&L for each uniform price move (rows) and absolute vol shift (columns), `days` forward."""

    price_shocks: list[float]
    vol_shifts: list[float]
    pnl: list[list[float]]
    days: int

    def to_dict(self) -> dict:
        return asdict(self)


def prepare(positions: Sequence[Position], market: Market) -> list[Holding]:
    """Resolve each option's underlying price, vol (solved from its price when missing) and years to expiry."""
    spots = {p.symbol: p.price for p in positions if not p.is_option}
    out = []
    for p in positions:
        if p.contract is None:
            out.append(Holding(p, p.symbol, p.price))
            continue
        c = p.contract
        if c.expiry < market.asof:
            raise ConfigError(f"position {p.symbol}: expired on {c.expiry} (valuation date {market.asof})")
        spot = p.underlying_price if p.underlying_price is not None else spots.get(c.underlying)
        if spot is None:
            raise ConfigError(
                f"position {p.symbol}: no price for its underlying {c.underlying} "
                f"(give underlying_price or hold {c.underlying} as a position)"
            )
        years = c.years_to_expiry(market.asof)
        vol = p.implied_vol
        if vol is None:
            try:
                solved = implied_vol(p.price, c.right, spot, float(c.strike), years, market.rate, market.dividend)
            except ConfigError as e:
                raise ConfigError(f"position {p.symbol}: {e}") from None
            vol = float(solved)
        out.append(Holding(p, c.underlying, spot, vol, years))
    return out


def revalue(holdings: Sequence[Holding], scenario: Scenario, market: Market) -> WhatIfResult:
    """Every holding at base and under `scenario`; P&L = shocked value - base value, per line and in total."""
    rows = []
    for h in holdings:
        p = h.position
        move = scenario.price_move(h.underlying, market.betas)
        spot = h.spot * (1.0 + move)
        vol = None if h.vol is None else scenario.shocked_vol(h.underlying, h.vol, market.vol_ratios)
        base = p.quantity * h.unit_value(market, h.spot, h.vol, 0)
        value = p.quantity * h.unit_value(market, spot, vol, scenario.days)
        kind = "option" if p.is_option else "equity"
        rows.append(
            PositionPnL(p.symbol, kind, p.quantity, h.underlying, h.spot, spot, h.vol, vol, base, value, value - base)
        )
    return WhatIfResult(scenario, market.asof, rows)


def pnl_grid(
    holdings: Sequence[Holding],
    market: Market,
    price_shocks: Sequence[float] = DEFAULT_GRID_PRICES,
    vol_shifts: Sequence[float] = DEFAULT_GRID_VOLS,
    days: int = 0,
) -> PnLGrid:
    """Total P&L of every uniform price move x absolute vol shift (e.g. -0.1 x +0.05: prices -10 %, vols +5
    points), `days` forward: the numbers of the what-if heatmap."""
    cells = [
        [revalue(holdings, Scenario(price_shock=p, vol_shift=v, days=days), market).pnl for v in vol_shifts]
        for p in price_shocks
    ]
    return PnLGrid([float(p) for p in price_shocks], [float(v) for v in vol_shifts], cells, days)


def market_for(
    scenario: Scenario, holdings: Sequence[Holding], base: Market, source: DataSource | str | Path | None = None
) -> Market:
    """`base` with the betas and vol ratios `scenario` reads (from daily data up to `base.asof`), when it needs them."""
    symbols = sorted({h.underlying for h in holdings})
    found_betas: dict[str, float] = {}
    ratios: dict[str, float] = {}
    shock = scenario.beta_shock
    if shock is not None:
        wanted = [s for s in symbols if s not in scenario.symbol_shocks]
        if wanted:
            close = load_closes(wanted, shock.benchmark, base.asof, source)
            found_betas = betas(close, wanted, shock.benchmark, shock.lookback)
    vix = scenario.vix
    if vix is not None and vix.map == "history":
        wanted = sorted(
            {h.underlying for h in holdings if h.position.is_option and h.underlying not in vix.multipliers}
        )
        if wanted:
            close = load_closes(wanted, vix.benchmark, base.asof, source)
            ratios = vol_ratios(close, wanted, vix.benchmark, vix.lookback)
    return replace(base, betas=found_betas, vol_ratios=ratios)

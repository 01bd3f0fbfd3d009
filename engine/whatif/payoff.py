"""The payoff of a book over a range of prices: its value when every underlying moves by the same fraction, at
each option's expiry (the option's payoff, intrinsic value x quantity x multiplier) and today (the model's value,
BSM at the position's implied vol). Equities count at quantity x moved price in both, so a hedged book's line is
the whole book's. The numbers of the Risk page's payoff diagram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from engine.options.pricing import price
from engine.whatif.repricing import Holding, Market

DEFAULT_MOVES = tuple(round(float(m), 4) for m in np.linspace(-0.3, 0.3, 61))
"""-30 % .. +30 % in steps of 1 %."""


@dataclass(frozen=True)
class Payoff:
    """Book values per price move; `spots` the underlyings' prices at move 0; P&L is against `base_value` (today's
    model value at move 0)."""

    moves: list[float]
    spots: dict[str, float]
    value_expiry: list[float]
    value_today: list[float]
    base_value: float

    @property
    def pnl_expiry(self) -> list[float]:
        return [v - self.base_value for v in self.value_expiry]

    @property
    def pnl_today(self) -> list[float]:
        return [v - self.base_value for v in self.value_today]

    def to_dict(self) -> dict:
        return {**asdict(self), "pnl_expiry": self.pnl_expiry, "pnl_today": self.pnl_today}


def _value(holding: Holding, market: Market, spot: float, at_expiry: bool) -> float:
    p = holding.position
    c = p.contract
    if c is None:
        return p.quantity * spot
    assert holding.vol is not None and holding.years is not None
    years = 0.0 if at_expiry else holding.years
    unit = price(c.right, spot, float(c.strike), years, market.rate, holding.vol, market.dividend)
    return p.quantity * c.multiplier * float(unit)


def payoff_table(holdings: Sequence[Holding], market: Market, moves: Sequence[float] = DEFAULT_MOVES) -> Payoff:
    """The book's value at expiry and today for each uniform move of the underlyings (holdings from
    engine.whatif.repricing.prepare)."""
    spots = {h.underlying: h.spot for h in holdings}

    def total(move: float, at_expiry: bool) -> float:
        return float(sum(_value(h, market, h.spot * (1.0 + move), at_expiry) for h in holdings))

    return Payoff(
        [float(m) for m in moves],
        spots,
        [total(m, True) for m in moves],
        [total(m, False) for m in moves],
        total(0.0, False),
    )

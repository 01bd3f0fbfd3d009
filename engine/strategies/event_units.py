"""How many units an event strategy's order for an amount of money is: fractional where the venue takes fractions
(the simulator with `config.fractional`), else whole units rounded down, as the vectorized engine rounds."""

from __future__ import annotations

import math
from typing import Any

from engine.errors import StrategyError


def units(ctx: Any, symbol: str, money: float, price: float, who: str) -> float:
    """`money` / `price` units of `symbol` (whole units when the broker takes no fractions); StrategyError naming
    `who` when that is less than one whole unit."""
    quantity = money / price
    if ctx.broker.fractionable([symbol]).get(symbol, True):
        return quantity
    whole = float(math.floor(quantity))
    if whole < 1:
        raise StrategyError(
            f"{who}: {money:,.2f} buys {quantity:.4g} units of {symbol} at {price:g}, less than one whole unit; "
            "allow fractional units or size the orders larger"
        )
    return whole

"""Fill prices and commissions: one definition shared by the simulator and the paper broker.

Slippage moves each fill against the trader: a buy fills at price * (1 + slippage_bps / 1e4), a sell at
price * (1 - slippage_bps / 1e4). Commission is commission_bps / 1e4 of the traded notional (at the fill
price), at least `min_commission` per order. The simulator's compiled kernel implements the same formulas;
tests check the two agree.
"""

from __future__ import annotations

from engine.config import Costs


def fill_price(price: float, quantity: float, costs: Costs) -> float:
    """Price paid (quantity > 0) or received (quantity < 0) after slippage."""
    slip = costs.slippage_bps / 1e4
    return price * (1.0 + slip) if quantity > 0 else price * (1.0 - slip)


def commission(quantity: float, price: float, costs: Costs) -> float:
    """Commission for one order of `quantity` units filled at `price` (0 for a zero quantity)."""
    if quantity == 0:
        return 0.0
    return max(abs(quantity) * price * costs.commission_bps / 1e4, costs.min_commission)

"""Fill prices and commissions: one definition shared by the simulator and the paper broker.

Slippage moves each fill against the trader: a buy fills at price * (1 + slippage_bps / 1e4), a sell at
price * (1 - slippage_bps / 1e4). Commission is commission_bps / 1e4 of the traded notional (at the fill
price), at least `min_commission` per order. The simulator's compiled kernel implements the same formulas;
tests check the two agree.

Financing (engine.config.Financing, BacktestConfig.cash_rate) is charged on the state held between two bars:
positive cash earns cash_rate, negative cash pays margin_rate, and every short pays its borrow fee on its market
value, each an annual rate turned into a per-bar one by `rate_per_period`.
"""

from __future__ import annotations

from engine.config import Costs, Financing


def fill_price(price: float, quantity: float, costs: Costs) -> float:
    """Price paid (quantity > 0) or received (quantity < 0) after slippage."""
    slip = costs.slippage_bps / 1e4
    return price * (1.0 + slip) if quantity > 0 else price * (1.0 - slip)


def commission(quantity: float, price: float, costs: Costs) -> float:
    """Commission for one order of `quantity` units filled at `price` (0 for a zero quantity)."""
    if quantity == 0:
        return 0.0
    return max(abs(quantity) * price * costs.commission_bps / 1e4, costs.min_commission)


def rate_per_period(annual: float, periods_per_year: float) -> float:
    """The per-period rate that compounds to `annual` over `periods_per_year` periods: (1 + annual) ** (1 / P) - 1.

    The one convention for every financing line (cash interest, margin interest, borrow fee): the simulator
    charges it once per bar with P = config.periods_per_year, the paper broker once per calendar day with P = 365.
    """
    return (1.0 + annual) ** (1.0 / periods_per_year) - 1.0


def borrow_bps_of(symbol: str, financing: Financing) -> float:
    """The annual borrow fee of shorting `symbol`, basis points: its override, else the default."""
    return float(financing.borrow_bps_by_symbol.get(symbol.upper(), financing.borrow_bps))


def margin_rate_of(config_cash_rate: float, financing: Financing) -> float:
    """The annual rate paid on negative cash: `financing.margin_rate`, or the cash rate when it is None."""
    return config_cash_rate if financing.margin_rate is None else float(financing.margin_rate)

"""Instruments in the broker protocol: an equity (a plain symbol) or a listed option (engine.options.OptionContract).

An option travels as its compact OCC symbol (`SPY261218C00600000`, what Alpaca writes) in `symbol`, with the parsed
contract beside it (`OrderRequest.option`, `Position.option`). Quantities of an option are whole contracts; prices are
the per-share premium as quoted; money (market value, cost, P&L) is price x quantity x the contract's multiplier.
`OptionQuote` is one row of `option_chain(underlying, expiry)`: the contract with what the venue says about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from engine.errors import ConfigError
from engine.options.occ import OptionContract, is_occ_symbol

type InstrumentKind = Literal["equity", "option"]
INSTRUMENT_KINDS: tuple[str, ...] = ("equity", "option")
OPTION_ORDER_TYPES: tuple[str, ...] = ("market", "limit")
"""What every option-capable adapter takes for an option: simple market and limit orders (no stops, trailing stops,
brackets or OCO pairs on an option)."""


def option_of(symbol: str) -> OptionContract | None:
    """The contract an OCC symbol names (padded or compact), or None for any other symbol (an equity)."""
    return OptionContract.parse(symbol) if is_occ_symbol(symbol) else None


def multiplier_of(symbol: str) -> int:
    """Shares per unit of `symbol`: the contract multiplier of an OCC symbol (100), 1 for anything else."""
    option = option_of(symbol)
    return option.multiplier if option is not None else 1


def instrument_problem(
    symbol: str, option: OptionContract | None, quantity: float
) -> tuple[str, OptionContract | None]:
    """(what is wrong, the contract) for an order on `symbol` with `option`: the contract is read from an OCC symbol
    when not given, must name the same contract when given, and an option quantity is whole contracts."""
    try:
        parsed = option_of(symbol)
    except ConfigError as e:
        return f"order.symbol: {e}", None
    if option is not None and not isinstance(option, OptionContract):
        return f"order.option: {option!r} is not an engine.options.OptionContract", None
    if option is not None and parsed is not None and parsed != option:
        return f"order.symbol: {symbol!r} names another contract than order.option {option.compact_symbol()!r}", None
    contract = option if option is not None else parsed
    if contract is not None and quantity != int(quantity):
        return f"order.quantity: {quantity!r}: options trade in whole contracts", None
    return "", contract


@dataclass(frozen=True)
class OptionQuote:
    """One contract of an option chain and what the venue gives for it (None where it gives nothing).

    bid / ask / last: per-share premium. implied_vol: annual decimal. delta, gamma, theta (per day), vega (per vol
    point): as the venue computes them (the paper broker: engine.options.greeks). underlying_price: the spot the
    Greeks were computed from. style: "american" or "european" when known.
    """

    contract: OptionContract
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    implied_vol: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    underlying_price: float | None = None
    open_interest: float | None = None
    style: str = ""

    @property
    def symbol(self) -> str:
        return self.contract.compact_symbol()

    @property
    def expiry(self) -> dt.date:
        return self.contract.expiry

    @property
    def mid(self) -> float | None:
        """Midpoint of bid and ask when both are there, else the last price."""
        if self.bid is not None and self.ask is not None and self.bid > 0 and self.ask > 0:
            return (self.bid + self.ask) / 2.0
        return self.last

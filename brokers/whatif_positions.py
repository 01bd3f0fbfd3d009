"""The Desk's positions as what-if positions: `ivybt whatif --broker paper|alpaca|ibkr`.

Importing this module registers one position source per broker adapter with `engine.whatif.sources` (the engine
never imports brokers/). Each reads the account's positions through `make_broker` (settings and keys from the
environment, as for `ivybt positions`): the price of a holding is its market value / quantity; an OCC option
symbol makes it an option (premium per share = market value / (quantity x multiplier), its implied vol solved
from that), and the price of an option's underlying comes from the account's own holding of it or else from
the broker's latest price.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from brokers import make_broker
from brokers.base import Position as BrokerPosition
from brokers.cli_desk import quiet_ib
from brokers.registry import BROKER_NAMES
from engine.options.occ import OptionContract, is_occ_symbol
from engine.whatif.positions import Position
from engine.whatif.sources import register_position_source


def to_whatif(rows: Sequence[BrokerPosition], underlying_prices: dict[str, float]) -> list[Position]:
    """What-if records of the broker's positions (flat ones left out)."""
    out = []
    for row in rows:
        if not row.quantity:
            continue
        if is_occ_symbol(row.symbol):
            contract = OptionContract.parse(row.symbol)
            premium = row.market_value / (row.quantity * contract.multiplier)
            spot = underlying_prices.get(contract.underlying)
            out.append(Position(contract.occ_symbol(), row.quantity, premium, contract, underlying_price=spot))
        else:
            out.append(Position(row.symbol.upper(), row.quantity, row.market_value / row.quantity))
    return out


def desk_positions(broker_name: str) -> list[Position]:
    """The positions of one broker account as what-if records."""
    quiet_ib()
    broker = make_broker(broker_name)
    try:
        rows = broker.positions()
        held = {r.symbol.upper() for r in rows if r.quantity and not is_occ_symbol(r.symbol)}
        underlyings = {
            OptionContract.parse(r.symbol).underlying for r in rows if r.quantity and is_occ_symbol(r.symbol)
        }
        missing = sorted(underlyings - held)
        prices = broker.latest_prices(missing) if missing else {}
    finally:
        broker.close()
    return to_whatif(rows, {k.upper(): float(v) for k, v in prices.items()})


def register() -> list[str]:
    """Register every broker as a what-if position source (idempotent); returns their names."""
    for name in BROKER_NAMES:
        register_position_source(name, partial(desk_positions, name))
    return list(BROKER_NAMES)


register()

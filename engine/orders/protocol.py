"""The `Broker` protocol (DESIGN §4): what every adapter and the event simulator offer, synchronously."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from engine.orders.instruments import OptionQuote
from engine.orders.values import Account, BrokerCapabilities, OrderAck, OrderRequest, OrderStatus, Position


@runtime_checkable
class Broker(Protocol):
    """What every adapter offers. All methods are synchronous and raise only `BrokerError` subclasses."""

    name: str
    capabilities: BrokerCapabilities

    @property
    def is_live(self) -> bool: ...

    def account(self) -> Account: ...

    def positions(self) -> list[Position]: ...

    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        """Latest trade (or last close) per symbol; raises PriceUnavailable naming symbols without one."""
        ...

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        """Per symbol: may a fractional quantity be ordered? (The planner rounds the others to whole units.)"""
        ...

    def submit(self, order: OrderRequest) -> OrderAck:
        """Send an order once: a known client_order_id returns the first ack and sends nothing."""
        ...

    def order(self, client_order_id: str) -> OrderStatus | None:
        """The order with this client_order_id, or None if the broker never received it."""
        ...

    def orders(self, status: str = "open") -> list[OrderStatus]:
        """Orders by state: "open" (new, partially filled), "closed" (final) or "all"."""
        ...

    def cancel(self, order_id: str) -> None: ...

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        """Modify a resting order in place (None = unchanged); `trail` in the order's own trail unit."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class OptionsBroker(Broker, Protocol):
    """An adapter with `capabilities.options`: option orders through `submit` and the chain of an underlying."""

    def option_chain(self, underlying: str, expiry: dt.date | None = None) -> list[OptionQuote]:
        """The listed contracts of `underlying` (of `expiry`; None: every listed one on Alpaca, the nearest expiry on
        IBKR, the next three monthlies on paper) with quotes, IV and Greeks where given; by expiry, right, strike."""
        ...

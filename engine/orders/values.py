"""The values of the broker protocol: capabilities, account, positions, order requests, acks, statuses and fills.

One set for every adapter (paper, Alpaca, IBKR) and the event simulator (engine.sim.event): plain frozen
dataclasses; venue SDK objects never leave an adapter. Quantities are in units (shares; contracts for an option),
prices and money in the account currency.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from engine.options.occ import OptionContract
from engine.orders.errors import BrokerConfigError, InvalidOrder, OrderRejected
from engine.orders.instruments import OPTION_ORDER_TYPES, InstrumentKind, instrument_problem
from engine.orders.rules import BASIC_TYPES, TIME_IN_FORCE, order_problem, unsupported

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
OrderClass = Literal["simple", "bracket", "oco"]
TimeInForce = Literal["day", "gtc", "ioc", "fok"]
State = Literal["new", "partially_filled", "filled", "canceled", "rejected", "expired"]

SIDES: tuple[str, ...] = ("buy", "sell")
STATES: tuple[str, ...] = ("new", "partially_filled", "filled", "canceled", "rejected", "expired")
OPEN_STATES: frozenset[str] = frozenset({"new", "partially_filled"})
ORDER_QUERIES: tuple[str, ...] = ("open", "closed", "all")
MAX_CLIENT_ORDER_ID = 64  # Alpaca allows 128; plan id + symbol fits easily


# ---------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class BrokerCapabilities:
    """What a venue supports; the rebalance planner rounds and filters orders with it.

    fractional: fractional share quantities accepted. shorting: sells beyond the position allowed.
    order_types: subset of engine.orders.rules.ORDER_TYPES. order_classes: subset of ORDER_CLASSES. live: real
    money. min_notional: smallest order value (currency). fractional_protective: stop, trailing-stop and OCO
    orders accept fractional quantities too (Alpaca: no, so a plan that will be protected is made in whole
    shares there). options: option orders and `option_chain` (engine.orders.instruments); option_order_types: what an
    option order may be (simple orders only), option_time_in_force: its time in force. `check_supported` refuses
    anything else.
    """

    fractional: bool
    shorting: bool
    order_types: tuple[str, ...] = BASIC_TYPES
    live: bool = False
    min_notional: float = 0.0
    order_classes: tuple[str, ...] = ("simple",)
    fractional_protective: bool = True
    options: bool = False
    option_order_types: tuple[str, ...] = OPTION_ORDER_TYPES
    option_time_in_force: tuple[str, ...] = TIME_IN_FORCE


@dataclass(frozen=True)
class Account:
    """Account snapshot. equity = cash + market value of positions; all in `currency`."""

    equity: float
    cash: float
    buying_power: float
    currency: str = "USD"
    account_id: str = ""
    is_live: bool = False


@dataclass(frozen=True)
class Position:
    """One holding. quantity is signed (negative = short); avg_price per unit; market_value signed.

    An option (`option` set, `symbol` its compact OCC symbol): quantity in contracts, avg_price the per-share premium,
    market_value = price x quantity x multiplier.
    """

    symbol: str
    quantity: float
    avg_price: float
    market_value: float
    option: OptionContract | None = None

    @property
    def kind(self) -> InstrumentKind:
        return "equity" if self.option is None else "option"

    @property
    def multiplier(self) -> int:
        return 1 if self.option is None else self.option.multiplier


def _new_client_order_id() -> str:
    return "ivy-" + uuid.uuid4().hex[:24]


@dataclass(frozen=True)
class OrderRequest:
    """An order to send. `quantity` > 0 in units; `side` gives the direction.

    client_order_id makes `Broker.submit` idempotent: sending the same id twice places one order. Give a
    deterministic one (plan id + symbol) for anything that may be retried; a random one is made if empty.
    Invalid values raise `InvalidOrder` naming the field. The type / class / price rules are in
    engine.orders.rules: stop_price (stop, stop_limit), trail_percent (percent) or trail_price (currency) for a
    trailing stop; take_profit (limit price) and stop_loss (stop price, with optional stop_loss_limit) for a
    "bracket" (entry market/limit) or an "oco" (type limit, limit_price = take_profit; filled in if omitted).
    An option order: `symbol` an OCC symbol (read into `option`) or `option` given (symbol then its compact OCC
    symbol); whole contracts (engine.orders.instruments).
    """

    symbol: str
    quantity: float
    side: str
    type: str = "market"
    limit_price: float | None = None
    time_in_force: str = "day"
    client_order_id: str = ""
    stop_price: float | None = None
    trail_percent: float | None = None
    trail_price: float | None = None
    order_class: str = "simple"
    take_profit: float | None = None
    stop_loss: float | None = None
    stop_loss_limit: float | None = None
    option: OptionContract | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip() or self.symbol != self.symbol.strip():
            raise InvalidOrder(f"order.symbol: {self.symbol!r} is not a symbol")
        q = self.quantity
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) or q <= 0:
            raise InvalidOrder(f"order.quantity: {q!r} must be a finite number > 0 (use side for direction)")
        why, contract = instrument_problem(self.symbol, self.option, q)
        if why:
            raise InvalidOrder(why)
        if contract is not None:
            object.__setattr__(self, "option", contract)
            object.__setattr__(self, "symbol", contract.compact_symbol())
        if self.side not in SIDES:
            raise InvalidOrder(f"order.side: {self.side!r} is not one of {SIDES}")
        if self.order_class == "oco" and self.type in ("market", "limit") and self.limit_price is None:
            object.__setattr__(self, "type", "limit")  # an OCO is its take-profit limit plus a stop
            object.__setattr__(self, "limit_price", self.take_profit)
        problem = order_problem(self)
        if problem:
            raise InvalidOrder(problem)
        if self.time_in_force not in TIME_IN_FORCE:
            raise InvalidOrder(f"order.time_in_force: {self.time_in_force!r} is not one of {TIME_IN_FORCE}")
        if not self.client_order_id:
            object.__setattr__(self, "client_order_id", _new_client_order_id())
        cid = self.client_order_id
        if not isinstance(cid, str) or len(cid) > MAX_CLIENT_ORDER_ID or not cid.isprintable() or " " in cid:
            raise InvalidOrder(
                f"order.client_order_id: {cid!r} must be printable, without spaces, at most "
                f"{MAX_CLIENT_ORDER_ID} characters"
            )

    @property
    def signed_quantity(self) -> float:
        """+quantity for a buy, -quantity for a sell."""
        return self.quantity if self.side == "buy" else -self.quantity

    @property
    def kind(self) -> InstrumentKind:
        return "equity" if self.option is None else "option"


@dataclass(frozen=True)
class OrderAck:
    """The broker accepted an order for processing (it may still fill, partially fill or be rejected later).

    `duplicate` is True when the client_order_id was already known and nothing was sent; it is left out of
    equality so a resubmit's ack equals the first one.
    """

    id: str
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    status: str
    submitted_at: datetime | None = None
    duplicate: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class OrderStatus:
    """Where an order stands. quantity / filled_quantity in units; avg_fill_price None until a fill."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    filled_quantity: float
    avg_fill_price: float | None
    status: str
    reason: str = ""
    type: str = "market"
    limit_price: float | None = None
    submitted_at: datetime | None = None
    filled_at: datetime | None = None  # time of the last fill (None until something filled)
    stop_price: float | None = None
    trail_percent: float | None = None  # percent (2.0 = 2 %)
    trail_price: float | None = None  # currency
    order_class: str = "simple"
    parent_id: str = ""  # a bracket / OCO leg's parent order id ("" for a top-level order)
    legs: tuple[str, ...] = ()  # the leg order ids of a bracket / OCO parent
    time_in_force: str = "day"  # one of engine.orders.rules.TIME_IN_FORCE

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled_quantity, 0.0)


@dataclass(frozen=True)
class Fill:
    """One execution. quantity > 0 units at `price` (after slippage); commission in account currency."""

    id: str
    order_id: str
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    commission: float
    timestamp: datetime


def check_supported(order: OrderRequest, capabilities: BrokerCapabilities, venue: str) -> None:
    """The one pre-send check every adapter's `submit` calls first: refuse (OrderRejected, nothing sent) an
    order whose type or class the venue does not declare in its capabilities (for an option: `options`,
    `option_order_types`, simple orders, `option_time_in_force`)."""
    if order.option is not None:
        tifs = capabilities.option_time_in_force
        why = "option orders are not supported" if not capabilities.options else None
        why = why or unsupported(order.type, order.order_class, capabilities.option_order_types, ("simple",))
        why = why or (
            f"time in force {order.time_in_force!r} is not one of {tifs}" if order.time_in_force not in tifs else None
        )
        if why:
            raise OrderRejected(f"{venue}: option {order.symbol}: {why}; order {order.client_order_id} not sent")
    why = unsupported(order.type, order.order_class, capabilities.order_types, capabilities.order_classes)
    if why:
        raise OrderRejected(f"{venue}: {why}; order {order.client_order_id} not sent")


def check_order_query(status: str) -> str:
    """Validate the `orders(status=...)` argument."""
    if status not in ORDER_QUERIES:
        raise BrokerConfigError(f"orders(status={status!r}): expected one of {ORDER_QUERIES}")
    return status


def matches_query(state: str, query: str) -> bool:
    """True if an order in `state` belongs to `orders(status=query)`."""
    return query == "all" or (state in OPEN_STATES) == (query == "open")


# ---------------------------------------------------------------------------------------------- retry

"""Alpaca's own order rules and the alpaca-py request for each order: checked and built before anything is sent.

Alpaca (docs.alpaca.markets, "Orders at Alpaca", "Fractional Trading", "Replace Order by ID") takes every type
in engine.orders.rules.ORDER_TYPES and the classes simple, bracket and oco, with these restrictions, refused here
with the value named so a doomed order never reaches the venue:

* brackets, OCO pairs, stops, stop-limits and trailing stops are day or gtc orders;
* a fractional quantity only on a simple market or limit day order (brackets, OCO and stops need whole shares);
* replace (PATCH /v2/orders/{id}) changes whole-share quantities only, only fields the order type has, and only
  an open order; Alpaca answers with a NEW order (the old one becomes "replaced").
"""

from __future__ import annotations

import math
import re
from typing import Any

from alpaca.trading.enums import OrderClass
from alpaca.trading.models import Order
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest

from brokers.alpaca.translate import SIDE_TO_ALPACA, TIF_TO_ALPACA, number, raw_value
from brokers.base import MAX_CLIENT_ORDER_ID, OrderRequest
from engine.orders.rules import BASIC_TYPES, is_price

ADVANCED_TIF: tuple[str, ...] = ("day", "gtc")  # brackets, OCO, stops and trailing stops
FRACTIONAL_TYPES: tuple[str, ...] = ("market", "limit")  # simple day orders only
REPLACEABLE: frozenset[str] = frozenset({"new", "partially_filled", "held"})  # Alpaca statuses
QTY_DECIMALS = 9  # Alpaca's quantity precision
_REPLACED_SUFFIX = re.compile(r"(.*)-r([0-9]+)")
_FIELD_TYPES: dict[str, tuple[str, ...]] = {  # which order types carry each replaceable price
    "limit_price": ("limit", "stop_limit"),
    "stop_price": ("stop", "stop_limit"),
    "trail": ("trailing_stop",),
}


def send_quantity(quantity: float) -> float:
    """The quantity as sent: rounded to Alpaca's 9 decimals."""
    return round(float(quantity), QTY_DECIMALS)


def is_whole(quantity: float) -> bool:
    return math.isclose(quantity, round(quantity))


def alpaca_problem(order: OrderRequest) -> str | None:
    """Why Alpaca would refuse `order` (a restriction of its own, see module docstring), naming the value, or None.

    The asset's `fractionable` flag needs a request and is checked by the adapter after this."""
    kind = f"{order.order_class} {order.type} order"
    if (order.order_class != "simple" or order.type not in BASIC_TYPES) and order.time_in_force not in ADVANCED_TIF:
        return f"time_in_force {order.time_in_force!r}: a {kind} must be one of {ADVANCED_TIF}"
    qty = send_quantity(order.quantity)
    if not is_whole(qty):
        if order.order_class != "simple" or order.type not in FRACTIONAL_TYPES:
            return f"quantity {qty}: a {kind} needs whole shares (fractional orders are simple market or limit only)"
        if order.time_in_force != "day":
            return f"quantity {qty}: fractional orders must be day orders, got {order.time_in_force!r}"
    return None


def build_request(order: OrderRequest) -> AlpacaOrderRequest:
    """The alpaca-py request for `order` (already checked by engine.orders.rules and `alpaca_problem`).

    An OCO is sent as Alpaca documents it: type limit with take_profit / stop_loss and no top-level limit_price
    (the take-profit limit IS the parent order)."""
    common: dict[str, Any] = dict(
        symbol=order.symbol,
        qty=send_quantity(order.quantity),
        side=SIDE_TO_ALPACA[order.side],
        time_in_force=TIF_TO_ALPACA[order.time_in_force],
        client_order_id=order.client_order_id,
    )
    if order.order_class in ("bracket", "oco"):
        common.update(
            order_class=OrderClass.BRACKET if order.order_class == "bracket" else OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=order.take_profit),
            stop_loss=StopLossRequest(stop_price=order.stop_loss, limit_price=order.stop_loss_limit),
        )
    if order.type == "market":
        return MarketOrderRequest(**common)
    if order.type == "limit":
        return LimitOrderRequest(limit_price=None if order.order_class == "oco" else order.limit_price, **common)
    if order.type == "stop":
        return StopOrderRequest(stop_price=order.stop_price, **common)
    if order.type == "stop_limit":
        return StopLimitOrderRequest(stop_price=order.stop_price, limit_price=order.limit_price, **common)
    return TrailingStopOrderRequest(trail_percent=order.trail_percent, trail_price=order.trail_price, **common)


# ---------------------------------------------------------------------------------------------- replace
def replacement_client_order_id(client_order_id: str) -> str:
    """The deterministic client_order_id of the order that replaces one with `client_order_id`: "-r1" appended,
    or "-rN" -> "-r(N+1)"; the stem is cut so the result stays within MAX_CLIENT_ORDER_ID characters. A retried
    replace therefore reuses the id, and Alpaca's uniqueness check keeps it from creating a second order."""
    m = _REPLACED_SUFFIX.fullmatch(client_order_id)
    stem, n = (m.group(1), int(m.group(2)) + 1) if m else (client_order_id, 1)
    suffix = f"-r{n}"
    return stem[: MAX_CLIENT_ORDER_ID - len(suffix)] + suffix


def replace_changes(
    quantity: float | None, limit_price: float | None, stop_price: float | None, trail: float | None
) -> dict[str, float]:
    """The given (not None) changes of a replace, by ReplaceOrderRequest field name."""
    given = {"qty": quantity, "limit_price": limit_price, "stop_price": stop_price, "trail": trail}
    return {k: v for k, v in given.items() if v is not None}


def replace_problem(o: Order, changes: dict[str, float]) -> str | None:
    """Why Alpaca cannot replace order `o` with `changes` (naming the value), or None."""
    status, otype = raw_value(o.status), raw_value(o.type) or "market"
    if status not in REPLACEABLE:
        return f"the order is {status!r}, not open (replaceable: {sorted(REPLACEABLE)})"
    if o.notional is not None and o.qty is None:
        return "a notional (dollar amount) order cannot be replaced; cancel it and submit a new one"
    for name, value in changes.items():
        label = "quantity" if name == "qty" else name
        if not is_price(value):
            return f"{label} {value!r} must be a number > 0"
        if name == "qty" and not is_whole(send_quantity(value)):
            return f"quantity {value!r}: Alpaca replaces whole-share quantities only"
        if name in _FIELD_TYPES and otype not in _FIELD_TYPES[name]:
            return f"{label} {value!r}: a {otype} order has no {label}"
        if name == "trail" and o.trail_percent is not None and value >= 100:
            return f"trail {value!r}: a trail percent must be below 100"
    return None


def replace_request(changes: dict[str, float], client_order_id: str) -> ReplaceOrderRequest:
    fields: dict[str, Any] = dict(changes)
    if "qty" in fields:
        fields["qty"] = round(fields["qty"])
    return ReplaceOrderRequest(client_order_id=client_order_id, **fields)


def carries_changes(o: Order, changes: dict[str, float]) -> bool:
    """True if order `o` has the values `changes` asks for (an earlier attempt of this replace made it)."""
    have = {
        "qty": number(o.qty),
        "limit_price": number(o.limit_price),
        "stop_price": number(o.stop_price),
        "trail": number(o.trail_percent if o.trail_percent is not None else o.trail_price),
    }
    return all(math.isclose(have[k], v, rel_tol=1e-9) for k, v in changes.items())

"""Protective orders that triggered at the broker, each alerted once ("protective_triggered").

A stop, stop-limit or trailing stop, a bracket's exit leg or an OCO order fills at the venue (or, for the paper
broker, when its bars are walked), not in IvyBT, so it is noticed the next time the orders are read. Every read
of the desk calls `alert_triggered`: a filled protective order not yet recorded is written to the audit log
(kind "protective", keyed by its client_order_id, check and write in one transaction, so two readers record
it once) and alerted. Only fills of the last `within` (default a day) count, so the first read of an account
with an old history does not replay it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brokers.base import Broker, OrderStatus
from brokers.protect import PREFIX
from engine.alerts import alert
from engine.ops.audit_log import AuditLog

PROTECTIVE_TYPES: tuple[str, ...] = ("stop", "stop_limit", "trailing_stop")


def is_protective(order: OrderStatus) -> bool:
    """A stop-type order, a bracket's exit leg, an OCO order or one of the preset's protective orders (its
    take-profit limit included): an exit that fires without us."""
    return (
        order.type in PROTECTIVE_TYPES
        or bool(order.parent_id)
        or order.order_class == "oco"
        or order.client_order_id.startswith(PREFIX)
    )


def describe(order: OrderStatus) -> str:
    """One line: what filled, how much and at what price."""
    price = "?" if order.avg_fill_price is None else f"{order.avg_fill_price:,.4g}"
    return f"{order.symbol}: {order.type} {order.side} {order.filled_quantity:g} filled at {price} (order {order.id})"


def alert_triggered(
    broker: Broker, log: AuditLog | None = None, now: datetime | None = None, within: timedelta = timedelta(days=1)
) -> list[OrderStatus]:
    """Record and alert every protective order of `broker` filled within `within` and not recorded before;
    returns the newly alerted ones."""
    log = log or AuditLog()
    since = (now or datetime.now(UTC)) - within
    new = []
    for order in broker.orders("closed"):
        if order.filled_quantity <= 0 or not is_protective(order):
            continue
        if order.filled_at is None or order.filled_at < since:
            continue
        line = describe(order)
        key = order.client_order_id or order.id
        payload = {"broker": broker.name, "order_id": order.id, "price": order.avg_fill_price}
        if log.event_once("protective", key, line, symbol=order.symbol, payload=payload):
            alert("protective_triggered", f"{broker.name}: protective {order.type} triggered on {order.symbol}", line)
            new.append(order)
    return new

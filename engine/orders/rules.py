"""The order types, in one place: names, classes, time in force, and the check of each combination.

Shared by `engine.orders.values.OrderRequest` (validation on construction), every adapter's capability check and the
paper broker's bar-walking triggers (brokers/paper/triggers.py). Prices are in the account currency; a
trailing stop trails by `trail_percent` (percent, 2.0 = 2 %) or `trail_price` (currency), exactly one.

Order classes: "simple" (one order); "bracket" (an entry, market or limit, plus a take-profit limit and a
stop-loss stop, optionally stop-limit, that become an OCO pair once the entry fills); "oco" (two exit legs: a
take-profit limit at `take_profit` and a stop at `stop_loss`; one filling cancels the other).
"""

from __future__ import annotations

import math
from typing import Any

ORDER_TYPES: tuple[str, ...] = ("market", "limit", "stop", "stop_limit", "trailing_stop")
ORDER_CLASSES: tuple[str, ...] = ("simple", "bracket", "oco")
TIME_IN_FORCE: tuple[str, ...] = ("day", "gtc", "ioc", "fok")
BASIC_TYPES: tuple[str, ...] = ("market", "limit")  # what every adapter supports
NEEDS_LIMIT: frozenset[str] = frozenset({"limit", "stop_limit"})
NEEDS_STOP: frozenset[str] = frozenset({"stop", "stop_limit"})
BRACKET_ENTRY_TYPES: tuple[str, ...] = ("market", "limit")


def is_price(value: Any) -> bool:
    """A finite number > 0 (bool excluded)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def order_problem(o: Any) -> str | None:
    """What is wrong with the type/price combination of order request `o`, naming field and value, or None.

    `o` has: side, type, order_class, limit_price, stop_price, trail_percent, trail_price, take_profit,
    stop_loss, stop_loss_limit. Each price is > 0 and present exactly when the type / class needs it.
    """
    if o.type not in ORDER_TYPES:
        return f"order.type: {o.type!r} is not one of {ORDER_TYPES}"
    if o.order_class not in ORDER_CLASSES:
        return f"order.order_class: {o.order_class!r} is not one of {ORDER_CLASSES}"
    need = {
        "limit_price": o.type in NEEDS_LIMIT,
        "stop_price": o.type in NEEDS_STOP,
        "take_profit": o.order_class in ("bracket", "oco"),
        "stop_loss": o.order_class in ("bracket", "oco"),
    }
    for name, needed in need.items():
        value = getattr(o, name)
        if needed and not is_price(value):
            return f"order.{name}: {value!r} must be a price > 0 (order.type: {o.type!r} / {o.order_class!r} needs it)"
        if not needed and value is not None:
            return f"order.{name}: {value!r} given, but order.type: {o.type!r} / {o.order_class!r} takes none"
    trails = [n for n in ("trail_percent", "trail_price") if getattr(o, n) is not None]
    if o.type == "trailing_stop":
        if len(trails) != 1:
            return (
                f"order.trail_percent / trail_price: {o.trail_percent!r} / {o.trail_price!r}: a trailing stop "
                "needs exactly one"
            )
        value = getattr(o, trails[0])
        if not is_price(value) or (trails[0] == "trail_percent" and value >= 100):
            return f"order.{trails[0]}: {value!r} must be > 0 (a percent below 100)"
    elif trails:
        return f"order.{trails[0]}: {getattr(o, trails[0])!r} given for a {o.type} order (not a trailing stop)"
    if o.stop_loss_limit is not None and (o.order_class != "bracket" or not is_price(o.stop_loss_limit)):
        return f"order.stop_loss_limit: {o.stop_loss_limit!r} must be a price > 0 and only on a bracket order"
    if o.order_class == "bracket" and o.type not in BRACKET_ENTRY_TYPES:
        return f"order.type: {o.type!r}: a bracket entry is one of {BRACKET_ENTRY_TYPES}"
    if o.order_class == "oco" and o.type != "limit":
        return f"order.type: {o.type!r}: an OCO order is type 'limit' (its take-profit leg)"
    return _sides(o)


def _sides(o: Any) -> str | None:
    """Bracket / OCO prices on the right side: a long's take-profit above its stop (and above a limit entry)."""
    if o.order_class == "simple":
        return None
    # the exit side: a bracket's exits are opposite its entry; an OCO's side IS the exit side
    long = (o.side == "buy") if o.order_class == "bracket" else (o.side == "sell")
    tp, sl = o.take_profit, o.stop_loss
    if o.order_class == "oco" and o.limit_price != tp:
        return f"order.limit_price: {o.limit_price!r} must equal take_profit {tp!r} on an OCO order"
    if long and not tp > sl:
        return f"order.take_profit: {tp!r} must be above stop_loss {sl!r} (exit of a long)"
    if not long and not tp < sl:
        return f"order.take_profit: {tp!r} must be below stop_loss {sl!r} (exit of a short)"
    if o.order_class == "bracket" and o.type == "limit":
        lp = o.limit_price
        if long and not (sl < lp < tp):
            return f"order.limit_price: {lp!r} must lie between stop_loss {sl!r} and take_profit {tp!r} (buy)"
        if not long and not (tp < lp < sl):
            return f"order.limit_price: {lp!r} must lie between take_profit {tp!r} and stop_loss {sl!r} (sell)"
    return None


def unsupported(order_type: str, order_class: str, types: tuple[str, ...], classes: tuple[str, ...]) -> str | None:
    """Why a venue with these capabilities cannot take this type / class, or None if it can."""
    if order_type not in types:
        return f"order type {order_type!r} is not supported (supported: {types})"
    if order_class not in classes:
        return f"order class {order_class!r} is not supported (supported: {classes})"
    return None

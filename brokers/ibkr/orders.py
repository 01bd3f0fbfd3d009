"""OrderRequest -> ib_async Orders: every IvyBT order type and class as IBKR takes it, and what a modify changes.

SDK-free: the ib_async module is passed in (`mod`), so this module imports no SDK and its rules are testable.

* types: market MKT, limit LMT, stop STP (auxPrice = stop), stop_limit STP LMT (lmtPrice + auxPrice), trailing
  stop TRAIL (trailingPercent, or auxPrice = the trail amount in currency).
* bracket: the entry (MKT or LMT) sent with transmit=False, a take-profit LMT and a stop-loss STP (STP LMT with
  stop_loss_limit) with parentId = the entry's orderId, the last one transmit=True (TWS then transmits the
  three together), the two children in one OCA group of type 2 (reduce the other with block: a partial
  take-profit fill shrinks the stop, as IB itself treats a bracket's children); `ib.bracketOrder` builds the
  same for a limit entry.
* oco: the take-profit LMT and a STP in one OCA group of type 1 (cancel the rest with block), as
  `IB.oneCancelsAll` sets it.

References: our client_order_id travels in orderRef; the legs get derived references (`leg_ref`: cid + "/tp",
"/sl", the paper broker's suffixes, within 64 characters) and the OCA group is named after the cid, so a
family is found again from what TWS reports (brokers.ibkr.translate.relations) and a retry can look every
member up before anything is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from brokers.base import MAX_CLIENT_ORDER_ID, OrderRejected, OrderRequest
from brokers.ibkr.translate import SIDE_TO_IB, TIF_TO_IB, is_set

LEG_TAGS: dict[str, str] = {"take_profit": "tp", "stop_loss": "sl"}
OCA_CANCEL = 1  # ocaType 1: cancel all remaining orders with block (an OCO pair)
OCA_REDUCE = 2  # ocaType 2: reduce remaining orders with block (a bracket's children)


def leg_ref(client_order_id: str, tag: str) -> str:
    """The orderRef of a bracket / OCO leg: cid + "/" + tag, shortened with a hash of the cid past 64 chars."""
    ref = f"{client_order_id}/{tag}"
    if len(ref) <= MAX_CLIENT_ORDER_ID:
        return ref
    digest = hashlib.sha1(client_order_id.encode()).hexdigest()[:8]
    return f"{client_order_id[: MAX_CLIENT_ORDER_ID - len(tag) - 10]}~{digest}/{tag}"


def family_refs(order: OrderRequest) -> list[str]:
    """Every orderRef `order` places, in sending order (the order itself first)."""
    legs = {"simple": (), "bracket": ("take_profit", "stop_loss"), "oco": ("stop_loss",)}[order.order_class]
    return [order.client_order_id, *(leg_ref(order.client_order_id, LEG_TAGS[leg]) for leg in legs)]


def tick(price: float) -> float:
    """US stock minimum price increment (SEC Rule 612): 0.01 from $1, 0.0001 below."""
    return 0.01 if price >= 1.0 else 0.0001


def tick_problem(name: str, price: float | None) -> str | None:
    """Why IBKR would refuse `price` (IB error 110: not a multiple of the tick), or None. A trail amount is held
    to the finest stock tick only (its tick is the stock's, whose price is not known here)."""
    if price is None:
        return None
    step = 0.0001 if name in ("trail", "trail_price") else tick(price)
    if abs(round(price / step) * step - price) > 1e-9:
        return f"{name} {price!r} is not a multiple of the {step:g} tick"
    return None


def ibkr_problem(order: OrderRequest) -> str | None:
    """What IBKR cannot take in `order` (checked before anything is sent), or None."""
    if order.quantity != int(order.quantity):
        return f"whole shares only; quantity {order.quantity} {order.symbol} is fractional"
    for name in ("limit_price", "stop_price", "take_profit", "stop_loss", "stop_loss_limit", "trail_price"):
        why = tick_problem(name, getattr(order, name))
        if why:
            return why
    return None


def single(
    mod: Any,
    kind: str,
    action: str,
    quantity: int,
    limit: float | None = None,
    stop: float | None = None,
    trail_percent: float | None = None,
    trail_price: float | None = None,
) -> Any:
    """One ib_async Order of our type `kind` (engine.orders.rules.ORDER_TYPES)."""
    if kind == "market":
        return mod.MarketOrder(action, quantity)
    if kind == "limit":
        return mod.LimitOrder(action, quantity, float(limit))  # type: ignore[arg-type]
    if kind == "stop":
        return mod.StopOrder(action, quantity, float(stop))  # type: ignore[arg-type]
    if kind == "stop_limit":
        return mod.StopLimitOrder(action, quantity, float(limit), float(stop))  # type: ignore[arg-type]
    if kind == "trailing_stop":
        if trail_percent is not None:
            return mod.Order(orderType="TRAIL", action=action, totalQuantity=quantity, trailingPercent=trail_percent)
        return mod.Order(orderType="TRAIL", action=action, totalQuantity=quantity, auxPrice=float(trail_price))  # type: ignore[arg-type]
    raise OrderRejected(f"ibkr: order type {kind!r} has no IBKR equivalent")


def build_orders(mod: Any, order: OrderRequest, next_id: Callable[[], int], account: str) -> list[tuple[str, Any]]:
    """The (orderRef, ib_async Order) pairs that place `order`, in sending order; `next_id` gives orderIds."""
    action, qty = SIDE_TO_IB[order.side], int(order.quantity)
    main = single(
        mod, order.type, action, qty, order.limit_price, order.stop_price, order.trail_percent, order.trail_price
    )
    out = [(order.client_order_id, main)]
    cid = order.client_order_id
    if order.order_class == "bracket":
        exit_action = SIDE_TO_IB["sell" if order.side == "buy" else "buy"]
        main.orderId, main.transmit = next_id(), False
        tp = mod.LimitOrder(exit_action, qty, float(order.take_profit), transmit=False)  # type: ignore[arg-type]
        kind, limit = ("stop_limit", order.stop_loss_limit) if order.stop_loss_limit is not None else ("stop", None)
        sl = single(mod, kind, exit_action, qty, limit, order.stop_loss)
        for leg in (tp, sl):
            leg.orderId, leg.parentId = next_id(), main.orderId
        mod.IB.oneCancelsAll([tp, sl], cid, OCA_REDUCE)
        out += [(leg_ref(cid, "tp"), tp), (leg_ref(cid, "sl"), sl)]
    elif order.order_class == "oco":  # our side IS the exit side; main is the take-profit limit
        sl = single(mod, "stop", action, qty, stop=order.stop_loss)
        mod.IB.oneCancelsAll([main, sl], cid, OCA_CANCEL)
        out.append((leg_ref(cid, "sl"), sl))
    for ref, o in out:
        o.orderRef, o.tif = ref, TIF_TO_IB[order.time_in_force]
        if account:
            o.account = account
    out[-1][1].transmit = True
    return out


def modify_fields(
    o: Any,
    quantity: float | None = None,
    limit_price: float | None = None,
    stop_price: float | None = None,
    trail: float | None = None,
) -> dict[str, Any]:
    """The ib_async Order attributes a modify of order `o` sets (None = unchanged), checked against its type;
    OrderRejected (naming the value) for a change its type does not have or IBKR would refuse."""
    where = f"ibkr: replace of order {o.orderRef or o.permId!r}"
    kind = o.orderType
    percent = kind == "TRAIL" and is_set(o.trailingPercent)
    wanted = {
        "quantity": (quantity, "totalQuantity", True),
        "limit_price": (limit_price, "lmtPrice", kind in ("LMT", "STP LMT")),
        "stop_price": (stop_price, "auxPrice", kind in ("STP", "STP LMT")),
        "trail": (trail, "trailingPercent" if percent else "auxPrice", kind == "TRAIL"),
    }
    out: dict[str, Any] = {}
    for name, (value, attr, has) in wanted.items():
        if value is None:
            continue
        if not has:
            raise OrderRejected(f"{where}: a {kind} order has no {name} ({name} {value!r})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise OrderRejected(f"{where}: {name} {value!r} must be a number > 0")
        if name == "quantity" and value != int(value):
            raise OrderRejected(f"{where}: quantity {value!r} must be a whole number of shares")
        if attr == "trailingPercent" and value >= 100:
            raise OrderRejected(f"{where}: trail {value!r} is a percent and must be below 100")
        why = tick_problem(name, value) if name != "quantity" and attr != "trailingPercent" else None
        if why:
            raise OrderRejected(f"{where}: {why}")
        out[attr] = int(value) if name == "quantity" else float(value)
    if not out:
        raise OrderRejected(f"{where}: nothing to change")
    return out

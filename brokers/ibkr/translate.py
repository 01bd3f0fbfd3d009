"""IBKR <-> IvyBT: value tables (sides, order types, time in force, order states) and ib_async trades as our
OrderStatus / OrderAck. Plain strings: ib_async is not imported here.
"""

from __future__ import annotations

from typing import Any

from brokers.base import OrderAck, OrderStatus

SIDE_TO_IB: dict[str, str] = {"buy": "BUY", "sell": "SELL"}
SIDE_FROM_IB: dict[str, str] = {"BUY": "buy", "SELL": "sell", "BOT": "buy", "SLD": "sell"}
TIF_TO_IB: dict[str, str] = {"day": "DAY", "gtc": "GTC", "ioc": "IOC", "fok": "FOK"}
TYPE_TO_IB: dict[str, str] = {"market": "MKT", "limit": "LMT"}
TYPE_FROM_IB: dict[str, str] = {"MKT": "market", "LMT": "limit"}
STATUS_FROM_IB: dict[str, str] = {
    "PendingSubmit": "new",
    "ApiPending": "new",
    "PreSubmitted": "new",
    "Submitted": "new",
    "ValidationError": "new",
    "ApiUpdate": "new",
    "PendingCancel": "new",
    "Filled": "filled",
    "Cancelled": "canceled",
    "ApiCancelled": "canceled",
    "Inactive": "rejected",
}
WAITING = frozenset({"PendingSubmit", "ApiPending"})
FUNDS_WORDS = ("EQUITY WITH LOAN", "INSUFFICIENT", "BUYING POWER", "MARGIN")


def order_status(t: Any) -> OrderStatus:
    """An ib_async `Trade` as our OrderStatus: fills summed, an IB error on an unfilled cancel = rejected."""
    o, st = t.order, t.orderStatus
    filled = float(st.filled or 0.0)
    fills = [f for f in t.fills if f.execution.shares]
    if fills:
        filled = max(filled, sum(f.execution.shares for f in fills))
    if not filled and o.filledQuantity and o.filledQuantity < 1e300:
        filled = float(o.filledQuantity)
    avg = float(st.avgFillPrice) if st.avgFillPrice else None
    if fills and not avg:
        avg = sum(f.execution.shares * f.execution.price for f in fills) / sum(f.execution.shares for f in fills)
    state = STATUS_FROM_IB.get(st.status, "new")
    if state == "new" and filled > 0:
        state = "partially_filled"
    errors = [e for e in t.log if e.errorCode]
    reason = errors[-1].message if errors else ""
    if state == "canceled" and errors and not filled:
        state = "rejected"
    lmt = o.lmtPrice if o.orderType == "LMT" and o.lmtPrice < 1e300 else None
    filled_at = max((f.time for f in fills), default=None) if fills else None
    return OrderStatus(
        id=str(o.permId or st.permId or f"{o.clientId}:{o.orderId}"),
        client_order_id=o.orderRef,
        symbol=t.contract.symbol,
        side=SIDE_FROM_IB.get(o.action, o.action.lower()),
        quantity=float(o.totalQuantity),
        filled_quantity=filled,
        avg_fill_price=avg,
        status=state,
        reason=reason,
        type=TYPE_FROM_IB.get(o.orderType, o.orderType),
        limit_price=lmt,
        submitted_at=t.log[0].time if t.log else None,
        filled_at=filled_at,
    )


def order_ack(t: Any, duplicate: bool) -> OrderAck:
    """An ib_async `Trade` as the acknowledgement of a submit (duplicate: it existed before this submit)."""
    s = order_status(t)
    return OrderAck(
        id=s.id,
        client_order_id=s.client_order_id,
        symbol=s.symbol,
        side=s.side,
        quantity=s.quantity,
        status=s.status,
        submitted_at=s.submitted_at,
        duplicate=duplicate,
    )

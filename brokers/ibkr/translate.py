"""IBKR <-> IvyBT: value tables (sides, order types, time in force, order states) and ib_async trades as our
OrderStatus / OrderAck / Fill (and daily bars as a frame), with the bracket / OCO family each order belongs to (`relations`: from parentId, the
OCA group and orderRef). Plain strings: ib_async is not imported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from brokers.base import Fill, OrderAck, OrderStatus
from brokers.ibkr.options import contract_of

SIDE_TO_IB: dict[str, str] = {"buy": "BUY", "sell": "SELL"}
SIDE_FROM_IB: dict[str, str] = {"BUY": "buy", "SELL": "sell", "BOT": "buy", "SLD": "sell"}
TIF_TO_IB: dict[str, str] = {"day": "DAY", "gtc": "GTC", "ioc": "IOC", "fok": "FOK"}
TIF_FROM_IB: dict[str, str] = {v: k for k, v in TIF_TO_IB.items()}
TYPE_TO_IB: dict[str, str] = {
    "market": "MKT",
    "limit": "LMT",
    "stop": "STP",
    "stop_limit": "STP LMT",
    "trailing_stop": "TRAIL",
}
TYPE_FROM_IB: dict[str, str] = {v: k for k, v in TYPE_TO_IB.items()}
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


def is_set(value: Any) -> bool:
    """An ib_async price field holds a value (not None, not IB's UNSET_DOUBLE 1.797e308)."""
    return value is not None and value != "" and float(value) < 1e300


def _price(value: Any) -> float | None:
    return float(value) if is_set(value) else None


def symbol_of(contract: Any) -> str:
    """Our symbol of an ib_async contract: the stock symbol, or an option's compact OCC symbol."""
    if getattr(contract, "secType", "") == "OPT":
        return contract_of(contract).compact_symbol()
    return str(contract.symbol)


def trade_id(t: Any) -> str:
    """Our order id of an ib_async Trade: TWS's permId (clientId:orderId until TWS has answered)."""
    o = t.order
    return str(o.permId or t.orderStatus.permId or f"{o.clientId}:{o.orderId}")


Relation = tuple[str, str, tuple[str, ...]]  # order_class, parent_id, legs


def relations(trades: Iterable[Any]) -> dict[int, Relation]:
    """(order_class, parent_id, legs) per trade (keyed by id(trade)) of the bracket / OCO families in `trades`.

    A leg names its parent by parentId (open bracket children) or by its OCA group, which brokers.ibkr.orders
    names after the parent's orderRef (an OCO's stop, and any leg reported by completedOrder, which carries no
    parentId). The parent of an OCO is in its own group; a bracket's entry is in none. Others: simple.
    """
    trades = list(trades)
    by_ref = {t.order.orderRef: t for t in trades if t.order.orderRef}
    by_key = {(t.order.clientId, t.order.orderId): t for t in trades if t.order.orderId > 0}
    out: dict[int, Relation] = {}
    legs: dict[int, list[str]] = {}
    for t in trades:
        o = t.order
        parent = by_key.get((o.clientId, o.parentId)) if o.parentId else None
        if parent is None and o.ocaGroup and o.ocaGroup != o.orderRef:
            parent = by_ref.get(o.ocaGroup)
        if parent is not None and parent is not t:
            p = parent.order
            kind = "oco" if p.ocaGroup and p.ocaGroup == p.orderRef else "bracket"
            out[id(t)] = (kind, trade_id(parent), ())
            legs.setdefault(id(parent), []).append(trade_id(t))
        elif o.parentId or o.ocaGroup:
            out[id(t)] = ("bracket" if o.parentId else "oco", "", ())
    for t in trades:
        if id(t) in legs:
            o = t.order
            kind = "oco" if o.ocaGroup and o.ocaGroup == o.orderRef else "bracket"
            out[id(t)] = (kind, "", tuple(legs[id(t)]))
    return out


def order_status(t: Any, family: dict[int, Relation] | None = None) -> OrderStatus:
    """An ib_async `Trade` as our OrderStatus: fills summed, an IB error on an unfilled cancel = rejected; its
    class, parent and legs from `family` (`relations` over every trade; None: simple)."""
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
    kind = TYPE_FROM_IB.get(o.orderType, o.orderType)
    trail_pct = _price(o.trailingPercent) if kind == "trailing_stop" else None
    filled_at = max((f.time for f in fills), default=None) if fills else None
    order_class, parent_id, legs = (family or {}).get(id(t), ("simple", "", ()))
    return OrderStatus(
        id=trade_id(t),
        client_order_id=o.orderRef,
        symbol=symbol_of(t.contract),
        side=SIDE_FROM_IB.get(o.action, o.action.lower()),
        quantity=float(o.totalQuantity),
        filled_quantity=filled,
        avg_fill_price=avg,
        status=state,
        reason=reason,
        type=kind,
        limit_price=_price(o.lmtPrice) if kind in ("limit", "stop_limit") else None,
        submitted_at=t.log[0].time if t.log else None,
        filled_at=filled_at,
        stop_price=_price(o.auxPrice) if kind in ("stop", "stop_limit") else None,
        trail_percent=trail_pct,
        trail_price=_price(o.auxPrice) if kind == "trailing_stop" and trail_pct is None else None,
        order_class=order_class,
        parent_id=parent_id,
        legs=legs,
        time_in_force=TIF_FROM_IB.get(o.tif, (o.tif or "day").lower()),
    )


def order_ack(t: Any, duplicate: bool) -> OrderAck:
    """An ib_async `Trade` as the acknowledgement of a submit or modify (duplicate: it existed before a submit)."""
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


def fill_of(f: Any) -> Fill:
    """An ib_async `Fill` (execution + commission report) as our Fill; order_id is the permId."""
    ex = f.execution
    return Fill(
        id=ex.execId,
        order_id=str(ex.permId),
        client_order_id=ex.orderRef,
        symbol=symbol_of(f.contract),
        side=SIDE_FROM_IB.get(ex.side, ex.side.lower()),
        quantity=float(ex.shares),
        price=float(ex.price),
        commission=float(f.commissionReport.commission or 0.0),
        timestamp=f.time,
    )


def bars_frame(bars: Iterable[Any]) -> pd.DataFrame:
    """ib_async BarData as columns date, open, high, low, close, volume (one row per bar, as TWS sent them)."""
    bars = list(bars)
    frame = {k: [getattr(b, k) for b in bars] for k in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame({"date": [pd.Timestamp(b.date) for b in bars], **frame})

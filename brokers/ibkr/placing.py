"""Place, modify and cancel through ib_async and wait for TWS's answer: coroutines run on IbkrBroker's loop.

Each sends once and then only waits: a lost connection or a missing answer is BrokerUnavailable (the caller's
retry looks the order up before sending again), an IB error on the order is OrderRejected (InsufficientFunds
for IB's margin check). SDK-free: the `ib` (an ib_async IB) is passed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from brokers.base import BrokerUnavailable, InsufficientFunds, OrderRejected
from brokers.ibkr.translate import FUNDS_WORDS, WAITING, order_status

POLL = 0.01  # seconds between looks at the trades ib_async keeps up to date


async def _until(ib: Any, done: Callable[[], bool], what: str, timeout: float, lost: str) -> None:
    """Wait until `done()`; BrokerUnavailable naming `what` when the connection drops or `timeout` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        if not ib.isConnected():
            raise BrokerUnavailable(f"ibkr {what}: connection lost{lost}")
        if loop.time() > deadline:
            raise BrokerUnavailable(f"ibkr {what}: no answer from TWS in {timeout:.0f} s{lost}")
        await asyncio.sleep(POLL)


async def place(ib: Any, contract: Any, orders: list[Any], what: str, timeout: float) -> list[Any]:
    """placeOrder each of `orders` (a family: the last one transmits) and wait until TWS has answered each."""
    trades = [ib.placeOrder(contract, o) for o in orders]

    def answered() -> bool:
        return all(t.orderStatus.status not in WAITING or t.log[-1].errorCode for t in trades)

    await _until(ib, answered, what, timeout, " after sending; a retry looks the order up and sends nothing twice")
    return trades


def raise_rejected(trades: list[Any], what: str) -> None:
    """OrderRejected (InsufficientFunds for IB's margin check) naming the first trade TWS refused, if any."""
    for t in trades:
        status = order_status(t)
        if status.status == "rejected":
            msg = (
                f"ibkr: order {status.client_order_id} ({status.side} {status.quantity:g} {status.symbol}) of "
                f"{what} rejected: {status.reason}"
            )
            if any(w in status.reason.upper() for w in FUNDS_WORDS):
                raise InsufficientFunds(msg)
            raise OrderRejected(msg)


async def modify(ib: Any, trade: Any, changes: dict[str, Any], order_id: str, timeout: float) -> None:
    """IBKR's modify: placeOrder again with the same orderId and the changed fields (re-transmitted); waits for
    TWS's openOrder with them. An IB error puts the old values back and raises OrderRejected."""
    order = trade.order
    old = {k: getattr(order, k) for k in changes}
    confirmed: list[Any] = []
    seen = len(trade.log)  # the log entries before this modify

    def on_open(t: Any) -> None:
        if t is trade:
            confirmed.append(t)

    def refused() -> list[Any]:
        return [e for e in trade.log[seen:] if e.errorCode]

    ib.openOrderEvent += on_open
    try:
        for k, v in changes.items():
            setattr(order, k, v)
        order.transmit = True
        ib.placeOrder(trade.contract, order)
        await _until(ib, lambda: bool(confirmed or refused()), f"replace of {order_id!r}", timeout, "")
        errors = refused()
        if errors and not confirmed:
            for k, v in old.items():
                setattr(order, k, v)
            raise OrderRejected(f"ibkr: replace of order {order_id!r} refused: {errors[-1].message}")
    finally:
        ib.openOrderEvent -= on_open


async def cancel(ib: Any, trade: Any, order_id: str, timeout: float, legs: list[Any] | None = None) -> None:
    """cancelOrder and wait until TWS confirms; then the open `legs` too (TWS cancels a parent's children
    itself, an OCO's other leg is sent its own cancelOrder)."""
    ib.cancelOrder(trade.order)
    await _until(ib, trade.isDone, f"cancel of {order_id!r}", timeout, " (the next call reconnects)")
    for leg in legs or []:
        if not leg.isDone() and leg.order.parentId != trade.order.orderId:
            ib.cancelOrder(leg.order)
        await _until(ib, leg.isDone, f"cancel of {order_id!r}'s leg {leg.order.orderRef}", timeout, "")

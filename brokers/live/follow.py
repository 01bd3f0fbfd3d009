"""`OrderFollower`: the strategy's orders at the broker, read back as fills and order updates, each delivered once.

The loop's orders are those whose client_order_id starts with its tag (and the legs of those: a bracket's or an
OCO's exits, which the venue names itself). Every poll reads the broker's orders and compares each with what was
delivered before (`followed`: client order id -> [status, filled quantity], persisted with the loop's state):
a new status is an `on_order` update, more filled quantity is one `Fill` of the difference, its id
"<order id>:<cumulative quantity>" and its price the one that makes the average right (avg x filled after minus
avg x filled before, over the difference). The same fill is never delivered twice, also after a restart, and
the same code serves every adapter (Alpaca reports one aggregate fill per order, IBKR and paper executions).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from brokers.base import Broker, Fill, OrderStatus

QTY_EPS = 1e-9


class OrderFollower:
    """Fills and updates of the orders tagged `tag` (see the module doc); `followed` is updated in place."""

    def __init__(self, broker: Broker, tag: str, followed: dict[str, list[Any]]) -> None:
        self.broker, self.prefix, self.followed = broker, f"{tag}-", followed

    def ours(self) -> list[OrderStatus]:
        """The loop's orders at the broker (every state), with their legs."""
        rows = self.broker.orders("all")
        mine = {o.id for o in rows if o.client_order_id.startswith(self.prefix)}
        return [o for o in rows if o.id in mine or (o.parent_id and o.parent_id in mine)]

    def seed(self) -> int:
        """Take every order already at the broker as delivered (a new session does not replay old fills)."""
        for o in self.ours():
            self.followed[_key(o)] = [o.status, float(o.filled_quantity), _avg(o)]
        return len(self.followed)

    def poll(self) -> tuple[list[Fill], list[OrderStatus]]:
        """New fills and status changes since the last poll, oldest order first."""
        fills: list[Fill] = []
        updates: list[OrderStatus] = []
        for o in self.ours():
            key = _key(o)
            status, filled, avg = self.followed.get(key, ["", 0.0, 0.0])
            more = float(o.filled_quantity) - float(filled)
            if more > QTY_EPS:
                fills.append(_fill(o, float(filled), float(avg), more))
            if o.status != status or more > QTY_EPS:
                updates.append(o)
            self.followed[key] = [o.status, float(o.filled_quantity), _avg(o)]
        return fills, updates

    def open_ids(self) -> list[str]:
        """Client order ids of the loop's open orders, as the broker reports them now."""
        return sorted(_key(o) for o in self.ours() if o.is_open)


def _key(o: OrderStatus) -> str:
    return o.client_order_id or o.id


def _avg(o: OrderStatus) -> float:
    return float(o.avg_fill_price or 0.0)


def _fill(o: OrderStatus, before: float, avg_before: float, more: float) -> Fill:
    after = before + more
    avg_after = _avg(o)
    price = (avg_after * after - avg_before * before) / more if before > QTY_EPS else avg_after
    return Fill(
        id=f"{o.id}:{after:g}",
        order_id=o.id,
        client_order_id=o.client_order_id,
        symbol=o.symbol,
        side=o.side,
        quantity=more,
        price=price,
        commission=0.0,
        timestamp=o.filled_at or datetime.now(UTC),
    )

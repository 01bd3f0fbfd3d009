"""`SimulatedBroker`: the `Broker` protocol over historical bars, for event-driven backtests (issue 17).

It takes the same `OrderRequest`s as the paper, Alpaca and IBKR adapters (engine.orders), so an event strategy
runs unchanged in a backtest and in the live loop. The fill rules are stated in engine.sim.event.book; prices and
commissions come from engine.sim.costs (the vectorized engine's formulas). Bar timing: `finance(t)` charges the
financing since the last close (a run with financing only), `begin_bar(t)` expires day orders and fills what bar
t's open and range reach; the strategy then sees the close of t and its new orders are active from bar
t + 1 + latency. The account is marked at each close after the run (engine.sim.event.fills.outputs).

Percent orders (`submit_target`) are sized at their fill from the equity marked at that open, exactly as the
vectorized kernel sizes a target weight (engine.sim.kernels._execute): what makes the two modes agree to 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.orders.errors import InvalidOrder, OrderRejected, PriceUnavailable
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES
from engine.orders.values import (
    Account,
    BrokerCapabilities,
    OrderAck,
    OrderRequest,
    OrderStatus,
    Position,
    check_order_query,
    check_supported,
    matches_query,
)
from engine.sim.event.book import SimOrder, exit_reason, number_or_nan
from engine.sim.event.matching import Matching
from engine.sim.kernels import REASON_SIGNAL, REASON_STOP_LOSS, REASON_TAKE_PROFIT

CAPABILITIES = BrokerCapabilities(
    fractional=True, shorting=True, order_types=ORDER_TYPES, order_classes=ORDER_CLASSES, min_notional=0.0
)


class SimulatedBroker(Matching):
    """The simulated venue of one event backtest (state in memory, arrays from `MarketData.to_arrays`)."""

    name = "sim"
    capabilities = CAPABILITIES

    @property
    def is_live(self) -> bool:
        return False

    def account(self) -> Account:
        equity = self._equity_now()
        return Account(equity=equity, cash=self.cash, buying_power=self._power(equity), account_id="sim")

    def positions(self) -> list[Position]:
        marks = self._marks()
        return [
            Position(s, float(self.q[j]), float(self.avg[j]), float(self.q[j] * marks[j]))
            for j, s in enumerate(self.symbols)
            if self.q[j] != 0.0
        ]

    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        marks = self._marks()
        out = {s: float(marks[self._column(s)]) for s in symbols}
        missing = [s for s, p in out.items() if math.isnan(p)]
        if missing:
            raise PriceUnavailable(f"sim: no price yet for {missing}")
        return out

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        return {s: self.fractional for s in symbols}

    def submit(self, order: OrderRequest) -> OrderAck:
        """Accept `order` once per client_order_id; it is active from the next bar (or, placed during a bar's
        processing, for the rest of that bar)."""
        known = self.by_client.get(order.client_order_id)
        if known is not None:
            return _ack(known, duplicate=True)
        check_supported(order, self.capabilities, self.name)
        if order.option is not None:
            raise OrderRejected(f"sim: options are not simulated; order {order.client_order_id} not sent")
        return _ack(self._place(order))

    def order(self, client_order_id: str) -> OrderStatus | None:
        found = self.by_client.get(client_order_id)
        return None if found is None else self.status(found)

    def orders(self, status: str = "open") -> list[OrderStatus]:
        check_order_query(status)
        return [self.status(o) for o in self.orders_by_id.values() if matches_query(o.status, status)]

    def cancel(self, order_id: str) -> None:
        o = self._get(order_id)
        if o.is_open:
            self._finish(o, "canceled", "canceled by the strategy")

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        """Change a resting order in place (None = unchanged); `trail` in the order's own unit."""
        o = self._get(order_id)
        if not o.is_open:
            raise OrderRejected(f"sim: order {order_id!r} is {o.status}; only an open order can be modified")
        for name, value in (("quantity", quantity), ("limit_price", limit_price), ("stop_price", stop_price)):
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InvalidOrder(f"sim: replace {name}={value!r}: must be a number > 0")
        if quantity is not None:
            if quantity < o.filled:
                raise InvalidOrder(f"sim: replace quantity={quantity!r} is below the {o.filled:g} already filled")
            o.quantity = float(quantity)
        if limit_price is not None:
            o.limit = float(limit_price)
        if stop_price is not None:
            o.stop = float(stop_price)
        if trail is not None:
            if o.type != "trailing_stop":
                raise InvalidOrder(f"sim: replace trail={trail!r} on a {o.type} order")
            if math.isnan(o.trail_price):
                o.trail_percent = float(trail)
            else:
                o.trail_price = float(trail)
        self._event(o, "modified")
        return _ack(o)

    def close(self) -> None:
        """Nothing to release (the protocol's close)."""

    def position_of(self, symbol: str) -> float:
        """Signed units held in `symbol` (the context's fast path; `positions()` builds every Position)."""
        return float(self.q[self._column(symbol)])

    def submit_target(self, symbol: str, weight: float, client_order_id: str, reason: int = REASON_SIGNAL) -> str:
        """A market order for `weight` of the equity in `symbol`, sized at its fill (see the module doc); returns
        its id (the same order's id again for a known client_order_id)."""
        known = self.by_client.get(client_order_id)
        if known is not None:
            return known.id
        if not math.isfinite(weight):
            raise InvalidOrder(f"sim: target weight {weight!r} for {symbol} must be a finite number")
        j = self._column(symbol)
        held = self.q[j]
        mark = float(self._marks()[j]) if held != 0.0 else math.nan
        equity = self._equity_now() if held != 0.0 else self.cash
        now = held * mark / equity if held != 0.0 and equity != 0.0 else 0.0
        side = 1 if weight > now else -1  # the side it will most likely trade; set from the fill itself
        o = self._new(client_order_id, symbol, j, side, 0.0, "market", "gtc")  # waits for its symbol's next bar
        o.target_weight, o.reason = float(weight), reason
        return self._open(o).id

    def _get(self, order_id: str) -> SimOrder:
        o = self.orders_by_id.get(order_id) or self.by_client.get(order_id)
        if o is None:
            raise OrderRejected(f"sim: no order {order_id!r}")
        return o

    def _place(self, r: OrderRequest) -> SimOrder:
        j = self._column(r.symbol)
        side = 1 if r.side == "buy" else -1
        o = self._new(r.client_order_id, r.symbol, j, side, float(r.quantity), r.type, r.time_in_force)
        o.limit, o.stop = number_or_nan(r.limit_price), number_or_nan(r.stop_price)
        o.trail_percent, o.trail_price = number_or_nan(r.trail_percent), number_or_nan(r.trail_price)
        o.order_class = r.order_class
        if r.type == "trailing_stop":
            o.extreme = self._current(j)
        if r.order_class == "bracket":
            o.take_profit, o.stop_loss, o.stop_loss_limit = (
                r.take_profit or math.nan,
                r.stop_loss or math.nan,
                number_or_nan(r.stop_loss_limit),
            )
        if r.order_class == "oco":  # two exit legs in one group: this order is the take-profit limit
            o.group, o.reduce_only, o.reason = o.id, True, REASON_TAKE_PROFIT
            self._open(o)
            stop = self._new(f"{r.client_order_id}-sl", r.symbol, j, side, o.quantity, "stop", r.time_in_force)
            stop.stop, stop.group, stop.reduce_only, stop.parent_id = float(r.stop_loss or 0), o.id, True, o.id
            stop.reason = REASON_STOP_LOSS
            o.legs = (stop.id,)
            self._open(stop)
            return o
        o.reason = exit_reason(o)
        return self._open(o)


def _ack(o: SimOrder, duplicate: bool = False) -> OrderAck:
    side = "buy" if o.side > 0 else "sell"
    return OrderAck(o.id, o.client_order_id, o.symbol, side, o.quantity, o.status, None, duplicate)

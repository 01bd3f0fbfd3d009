"""The brokers an event strategy sees in the live loop: `GuardedBroker` (live bars) and `DryBroker` (warm-up).

`GuardedBroker` wraps the real adapter. Every order the strategy places is first sized in what the venue takes
(whole units where it takes no fractions, rounded toward zero as a rebalance plan is), then passes: the kill switch
(on: nothing is sent, an audit `kill_switch` line names the order), the pre-trade rules of engine.ops.risk that
apply to one order (`max_order_notional`: quantity x latest price; `max_weight`: an order that adds exposure may
not leave the symbol above that fraction of equity; limits from the workspace's risk_limits.json, like a
rebalance), the account-level rules for an order that adds exposure (engine.ops.risk.account_stops on the equity
snapshots the loop records each bar and the session's audited round trips: max_consecutive_losses and
daily_loss_limit turn the kill switch on with the reason and a "risk_stop" alert, as a plan's do; max_drawdown
refuses), then the adapter's `submit` (idempotent on the context's deterministic client_order_id: a decision
re-sent after a restart places nothing twice). A refused order is not an exception for the strategy: it gets a
"rejected" ack and, through the loop, an `on_order` update with the reason. Modifying an order is refused while
the kill switch is on; cancelling is always allowed (it only reduces risk). Every step writes an audit event.

`DryBroker` answers the warm-up: the strategy is run over bars already processed (or the history before the
session) to rebuild its own attributes, and whatever it decides there is recorded, never sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from brokers.base import (
    Account,
    Broker,
    BrokerCapabilities,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    Position,
    retry,
)
from engine.ops.audit_log import AuditLog
from engine.ops.checks import FAIL
from engine.ops.rebalance import round_quantity
from engine.ops.risk import TOL, RiskLimits, account_stops, engage_stop, kill_switch_reason
from engine.ops.round_trips import session_trades

ATTEMPTS = 3  # submit is idempotent on client_order_id: retrying a dropped connection is safe


class GuardedBroker:
    """`broker` behind the kill switch, the single-order risk rules and the audit log (see the module doc)."""

    def __init__(self, broker: Broker, log: AuditLog, session: str, limits: RiskLimits) -> None:
        self.broker, self.log, self.session, self.limits = broker, log, session, limits
        self.name = broker.name
        self.capabilities: BrokerCapabilities = broker.capabilities
        self.refused: list[OrderStatus] = []
        """Orders refused here since the loop last read them (delivered to `on_order` as "rejected")."""
        self.sent: list[str] = []
        """Client order ids placed (or found already placed) since the loop last read them."""

    @property
    def is_live(self) -> bool:
        return bool(self.broker.is_live)

    def account(self) -> Account:
        return self.broker.account()

    def positions(self) -> list[Position]:
        return self.broker.positions()

    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        return self.broker.latest_prices(symbols)

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        return self.broker.fractionable(symbols)

    def order(self, client_order_id: str) -> OrderStatus | None:
        return self.broker.order(client_order_id)

    def orders(self, status: str = "open") -> list[OrderStatus]:
        return self.broker.orders(status)

    def close(self) -> None:
        self.broker.close()

    # ------------------------------------------------------------------------------------------ writes
    def submit(self, order: OrderRequest) -> OrderAck:
        cid, sym = order.client_order_id, order.symbol
        sized = self._sized(order)
        if sized is None:
            self.log.event(
                "check",
                f"live {self.session}: {_describe(order)} not sent: less than one unit the venue accepts",
                client_order_id=cid,
                symbol=sym,
                payload={"session": self.session, "stage": "live", "status": "fail"},
            )
            return self._refuse(order, "quantity rounds to zero units")
        order = sized
        what = _describe(order)
        reason = kill_switch_reason()
        if reason:
            self.log.event(
                "kill_switch",
                f"live {self.session}: {what} not sent: kill switch is ON: {reason}",
                client_order_id=cid,
                symbol=sym,
                payload={"session": self.session, "stage": "live"},
            )
            return self._refuse(order, f"kill switch is ON: {reason}")
        problem = self._risk_problem(order) or self._account_problem(order)
        if problem:
            self.log.event(
                "check",
                f"live {self.session}: {what} not sent: {problem}",
                client_order_id=cid,
                symbol=sym,
                payload={"session": self.session, "stage": "live", "status": "fail"},
            )
            return self._refuse(order, problem)
        self.log.event(
            "order",
            f"live {self.session}: submit {what}",
            client_order_id=cid,
            symbol=sym,
            payload={"session": self.session, "side": order.side, "quantity": order.quantity, "type": order.type},
        )
        try:
            ack = retry(lambda: self.broker.submit(order), attempts=ATTEMPTS)
        except OrderRejected as e:
            self.log.event("error", f"live {self.session}: rejected: {e}", client_order_id=cid, symbol=sym)
            return self._refuse(order, str(e))
        self.sent.append(cid)
        self.log.event(
            "ack",
            ("already known to the broker, nothing sent" if ack.duplicate else "accepted")
            + f": {ack.status} (broker id {ack.id})",
            client_order_id=cid,
            symbol=sym,
            payload={"session": self.session, "broker_order_id": ack.id, "duplicate": ack.duplicate},
        )
        return ack

    def cancel(self, order_id: str) -> None:
        self.log.event("order", f"live {self.session}: cancel {order_id}", payload={"session": self.session})
        retry(lambda: self.broker.cancel(order_id), attempts=ATTEMPTS)

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        reason = kill_switch_reason()
        if reason:
            self.log.event(
                "kill_switch",
                f"live {self.session}: modify of {order_id} refused: kill switch is ON: {reason}",
                payload={"session": self.session},
            )
            raise OrderRejected(f"modify of {order_id} refused: kill switch is ON: {reason}")
        changes = {"quantity": quantity, "limit_price": limit_price, "stop_price": stop_price, "trail": trail}
        self.log.event(
            "order",
            f"live {self.session}: modify {order_id}: "
            + ", ".join(f"{k}={v:g}" for k, v in changes.items() if v is not None),
            payload={"session": self.session, **{k: v for k, v in changes.items() if v is not None}},
        )
        return self.broker.replace(order_id, quantity, limit_price, stop_price, trail)

    # ------------------------------------------------------------------------------------------ rules
    def _sized(self, order: OrderRequest) -> OrderRequest | None:
        """`order` in what the venue takes (whole units where it takes no fractions, as a rebalance plan rounds:
        toward zero); None when nothing is left."""
        if order.option is not None:
            return order
        fractional = self.capabilities.fractional and self.broker.fractionable([order.symbol]).get(order.symbol, True)
        quantity = round_quantity(order.quantity, fractional)
        if quantity <= 0:
            return None
        return order if quantity == order.quantity else dataclasses.replace(order, quantity=quantity)

    def _risk_problem(self, order: OrderRequest) -> str | None:
        """Why the single-order rules refuse `order` (None: it passes)."""
        limits = self.limits
        if limits.max_order_notional is None and limits.max_weight is None:
            return None
        price = order.limit_price or order.stop_price or self.broker.latest_prices([order.symbol])[order.symbol]
        notional = order.quantity * price
        cap = limits.max_order_notional
        if cap is not None and notional > cap + TOL:
            return f"max_order_notional: order notional {notional:,.2f} exceeds the limit {cap:,.2f}"
        held = next((p.quantity for p in self.broker.positions() if p.symbol == order.symbol), 0.0)
        after = held + order.signed_quantity
        if abs(after) <= abs(held) + TOL or limits.max_weight is None:
            return None  # reduces (or keeps) the exposure
        equity = self.broker.account().equity
        weight = abs(after) * price / equity if equity > 0 else float("inf")
        if weight > limits.max_weight + TOL:
            return (
                f"max_weight: {order.symbol} would be {weight:.2%} of equity, above the limit {limits.max_weight:.2%}"
            )
        return None

    def snapshot_equity(self) -> None:
        """Record the account's equity in the audit log (once per live bar): the daily-loss and drawdown rules
        measure from these snapshots, as a rebalance plan's do."""
        acct = self.broker.account()
        self.log.record_equity(self.broker.name, acct.account_id, acct.equity)

    def _account_problem(self, order: OrderRequest) -> str | None:
        """Why the account-level rules refuse `order` (None: it passes). A failed stop rule (consecutive losing
        round trips of this session, today's loss) turns the kill switch on first, as a plan's does; the drawdown
        rule refuses what adds exposure. An order that only reduces a position passes while the switch is off."""
        if not self._adds_exposure(order):
            return None
        acct = self.broker.account()
        checks = account_stops(
            acct.equity,
            self.limits,
            self.log.equity_history(self.broker.name, acct.account_id),
            session_trades(self.log, self.session),
        )
        stop = engage_stop(checks)
        if stop is not None:
            self.log.event(
                "kill_switch",
                f"live {self.session}: risk stop: {stop.message}",
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                payload={"session": self.session, "stage": "live", "rule": stop.name},
            )
            return f"risk stop ({stop.name}): {stop.message}"
        failed = next((c for c in checks if c.status == FAIL), None)
        return f"{failed.name}: {failed.message}" if failed else None

    def _adds_exposure(self, order: OrderRequest) -> bool:
        held = next((p.quantity for p in self.broker.positions() if p.symbol == order.symbol), 0.0)
        return abs(held + order.signed_quantity) > abs(held) + TOL

    def _refuse(self, order: OrderRequest, reason: str) -> OrderAck:
        now = datetime.now(UTC)
        self.refused.append(_status(order, "rejected", reason, now))
        return OrderAck("", order.client_order_id, order.symbol, order.side, order.quantity, "rejected", now)


class DryBroker:
    """The warm-up's broker: no account, no positions; orders are recorded in `decisions`, never sent."""

    def __init__(self, like: Broker, price: Callable[[str], float]) -> None:
        self.name = like.name
        self.capabilities: BrokerCapabilities = like.capabilities
        self.is_live = False
        self.price = price
        self.decisions: list[OrderRequest] = []

    def account(self) -> Account:
        return Account(equity=1.0, cash=1.0, buying_power=1.0)

    def positions(self) -> list[Position]:
        return []

    def latest_prices(self, symbols: Sequence[str]) -> dict[str, float]:
        return {s: self.price(s) for s in symbols}

    def fractionable(self, symbols: Sequence[str]) -> dict[str, bool]:
        return dict.fromkeys(symbols, True)

    def submit(self, order: OrderRequest) -> OrderAck:
        self.decisions.append(order)
        return OrderAck("", order.client_order_id, order.symbol, order.side, order.quantity, "new")

    def order(self, client_order_id: str) -> OrderStatus | None:
        return None

    def orders(self, status: str = "open") -> list[OrderStatus]:
        return []

    def cancel(self, order_id: str) -> None:
        return None

    def replace(self, order_id: str, *args: Any, **kwargs: Any) -> OrderAck:
        return OrderAck(order_id, "", "", "buy", 0.0, "new")

    def close(self) -> None:
        return None


def _describe(order: OrderRequest) -> str:
    price = f" limit {order.limit_price:g}" if order.limit_price is not None else ""
    price += f" stop {order.stop_price:g}" if order.stop_price is not None else ""
    return f"{order.side} {order.quantity:g} {order.symbol} {order.type}{price} ({order.client_order_id})"


def _status(order: OrderRequest, status: str, reason: str, when: datetime) -> OrderStatus:
    return OrderStatus(
        id="",
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        filled_quantity=0.0,
        avg_fill_price=None,
        status=status,
        reason=reason,
        type=order.type,
        limit_price=order.limit_price,
        submitted_at=when,
        stop_price=order.stop_price,
        order_class=order.order_class,
        time_in_force=order.time_in_force,
    )

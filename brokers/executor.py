"""Submitting a plan's orders and following them to a final state: one `OrderExecutor` per execution.

Each order carries `client_order_id = f"{plan_id}-{symbol}"` and every adapter's `submit` places an id once, so
a retry after a dropped connection (`brokers.base.retry`, only `BrokerUnavailable`), a re-run of the plan, or a
concurrent run never sends an order twice. Before submitting, each order is first looked up at the broker by its
client_order_id (`Broker.order`): a known order (sent by a run that crashed before recording it, or by an earlier
run) is taken as it stands and only the missing ones are submitted.

Mismatches: the plan id depends on the signal and the account, not on its holdings, so planning the same
signal again after (part of) it was executed gives the same ids for different orders (e.g. small sells after
the buys filled). Such an order is never sent and never overwrites the first order's recorded result: when
the broker already knows the id with another side or quantity, the order is reported as "mismatch" with an
audit error, and the execution is not "complete". A new signal (the next session's data) gets new ids.
Every failed status poll writes an audit `error` event (once per distinct message).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from brokers.base import Broker, BrokerError, OrderRejected, OrderRequest, OrderStatus, retry
from brokers.reconcile import OrderResult, slippage_bps
from engine.ops.audit_log import AuditLog
from engine.ops.rebalance import PlannedOrder, RebalancePlan

FINAL = frozenset({"filled", "canceled", "rejected", "expired"})
QTY_TOL = 1e-6  # units: a known order "matches" a planned one when side and quantity agree within this


def _differs(o: PlannedOrder, side: str, quantity: float) -> bool:
    """True when a known order (side, quantity) is not the planned order `o`."""
    return side != o.side or abs(float(quantity) - o.quantity) > QTY_TOL


class OrderExecutor:
    """One run of one plan's orders: submit, poll, record each result (the state `execute_plan`'s steps share)."""

    def __init__(
        self,
        plan: RebalancePlan,
        broker: Broker,
        log: AuditLog,
        attempts: int,
        backoff: float,
        timeout: float,
        poll_interval: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.plan, self.broker, self.log = plan, broker, log
        self.attempts, self.backoff, self.timeout, self.poll = attempts, backoff, timeout, poll_interval
        self.sleep = sleep
        self.status: dict[str, OrderStatus] = {}
        self.sent: set[str] = set()
        self.rejected: dict[str, str] = {}
        self.mismatch: dict[str, str] = {}
        self.errors: list[str] = []
        self._poll_errors: set[str] = set()

    def _retry(self, fn: Callable[[], Any]) -> Any:
        return retry(fn, attempts=self.attempts, backoff=self.backoff, sleep=self.sleep)

    def _done(self, cid: str) -> bool:
        """Nothing more to learn about this order in this run (refused, or not the planned order)."""
        return cid in self.rejected or cid in self.mismatch

    def _known(self, o: PlannedOrder) -> OrderStatus | None:
        """The broker's order of this client_order_id, or None (unknown, or the lookup failed: `submit` is
        idempotent, so sending is still safe)."""
        try:
            st: OrderStatus | None = self._retry(partial(self.broker.order, o.client_order_id))
        except BrokerError:
            return None
        return st

    def submit(self, o: PlannedOrder) -> None:
        """Reconcile `o` with the broker by client_order_id; submit it only when the broker does not know it."""
        pid, cid = self.plan.plan_id, o.client_order_id
        known = self._known(o)
        if known is not None:
            if _differs(o, known.side, known.quantity):
                self._mismatch(o, known.side, known.quantity, known.id)
                return
            self.status[cid] = known
            self._log_ack(o, known.id, known.status, duplicate=True)
            return
        req = OrderRequest(symbol=o.symbol, quantity=o.quantity, side=o.side, client_order_id=cid)
        self.log.event(
            "order",
            f"submit {o.side} {o.quantity:g} {o.symbol} (ref {o.reference_price:,.4f})",
            plan_id=pid,
            client_order_id=cid,
            symbol=o.symbol,
            payload={"side": o.side, "quantity": o.quantity, "reference_price": o.reference_price},
        )
        try:
            ack = self._retry(lambda: self.broker.submit(req))
        except OrderRejected as e:
            self.rejected[cid] = str(e)
            self.log.event(
                "error",
                f"rejected: {e}",
                plan_id=pid,
                client_order_id=cid,
                symbol=o.symbol,
                payload={"error": type(e).__name__},
            )
            return
        except BrokerError as e:
            self.errors.append(f"{o.symbol}: {type(e).__name__}: {e}")
            self.log.event(
                "error",
                f"not confirmed: {type(e).__name__}: {e}",
                plan_id=pid,
                client_order_id=cid,
                symbol=o.symbol,
                payload={"error": type(e).__name__},
            )
            return
        if ack.duplicate and _differs(o, ack.side, ack.quantity):
            self._mismatch(o, ack.side, ack.quantity, ack.id)
            return
        if not ack.duplicate:
            self.sent.add(cid)
        self._log_ack(o, ack.id, ack.status, ack.duplicate)

    def _log_ack(self, o: PlannedOrder, broker_id: str, status: str, duplicate: bool) -> None:
        self.log.event(
            "ack",
            ("already known to the broker, nothing sent" if duplicate else "accepted")
            + f": {status} (broker id {broker_id})",
            plan_id=self.plan.plan_id,
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            payload={"broker_order_id": broker_id, "status": status, "duplicate": duplicate},
        )

    def _mismatch(self, o: PlannedOrder, side: str, quantity: float, broker_id: str) -> None:
        """The broker already has this client_order_id for a different order: record it, send nothing."""
        cid = o.client_order_id
        if cid in self.mismatch:
            return
        msg = (
            f"{o.symbol}: order id {cid} is already used at the broker by {side} {quantity:g} (broker id "
            f"{broker_id}), not the planned {o.side} {o.quantity:g}: nothing sent. The account changed since "
            f"this signal was first executed; wait for the next signal (or cancel/adjust by hand)"
        )
        self.mismatch[cid] = msg
        self.errors.append(msg)
        self.log.event(
            "error",
            f"mismatch: {msg}",
            plan_id=self.plan.plan_id,
            client_order_id=cid,
            symbol=o.symbol,
            payload={
                "error": "OrderMismatch",
                "broker_side": side,
                "broker_quantity": quantity,
                "planned_side": o.side,
                "planned_quantity": o.quantity,
                "broker_order_id": broker_id,
            },
        )

    def _poll_error(self, o: PlannedOrder, e: BrokerError) -> None:
        msg = f"{o.symbol}: status unknown: {type(e).__name__}: {e}"
        if msg in self._poll_errors:
            return
        self._poll_errors.add(msg)
        self.errors.append(msg)
        self.log.event(
            "error",
            f"status poll failed: {type(e).__name__}: {e}",
            plan_id=self.plan.plan_id,
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            payload={"stage": "poll", "error": type(e).__name__},
        )

    def refresh(self, orders: list[PlannedOrder]) -> None:
        for o in orders:
            if self._done(o.client_order_id):
                continue
            try:
                st = self._retry(partial(self.broker.order, o.client_order_id))
            except BrokerError as e:
                self._poll_error(o, e)
                continue
            if st is None:
                continue
            if _differs(o, st.side, st.quantity):
                self._mismatch(o, st.side, st.quantity, st.id)
            else:
                self.status[o.client_order_id] = st

    def wait(self, orders: list[PlannedOrder]) -> None:
        """Poll `orders` until each is final (or rejected / mismatched / unknown) or the timeout passes."""
        deadline = time.monotonic() + self.timeout
        while True:
            self.refresh(orders)
            pending = [
                o
                for o in orders
                if not self._done(o.client_order_id)
                and (o.client_order_id not in self.status or self.status[o.client_order_id].status not in FINAL)
            ]
            if not pending or time.monotonic() >= deadline:
                return
            self.sleep(self.poll)

    def result(self, o: PlannedOrder, before: dict[str, float]) -> OrderResult:
        cid = o.client_order_id
        st = self.status.get(cid)
        if cid in self.mismatch:  # another order owns this id: its recorded result must stay as it is
            return OrderResult(
                cid,
                o.symbol,
                o.side,
                o.quantity,
                "mismatch",
                0.0,
                None,
                o.reference_price,
                None,
                self.mismatch[cid],
                False,
            )
        if cid in self.rejected and st is None:
            res = OrderResult(
                cid,
                o.symbol,
                o.side,
                o.quantity,
                "rejected",
                0.0,
                None,
                o.reference_price,
                None,
                self.rejected[cid],
                False,
            )
        elif st is None:
            res = OrderResult(
                cid,
                o.symbol,
                o.side,
                o.quantity,
                "unknown",
                0.0,
                None,
                o.reference_price,
                None,
                "the broker has no record of this order (not sent or not confirmed)",
                False,
            )
        else:
            reason = st.reason or self.rejected.get(cid, "")
            res = OrderResult(
                cid,
                o.symbol,
                o.side,
                o.quantity,
                st.status,
                st.filled_quantity,
                st.avg_fill_price,
                o.reference_price,
                slippage_bps(o.side, st.avg_fill_price, o.reference_price),
                reason,
                cid in self.sent,
                st.id,
            )
        filled_at = st.filled_at if st is not None and st.filled_quantity > 0 else None
        if filled_at is None and res.filled_quantity > 0:
            filled_at = datetime.now(UTC)  # the broker gave no fill time: first seen filled now
        written = self.log.record_order_result(
            client_order_id=cid,
            plan_id=self.plan.plan_id,
            broker=self.broker.name,
            symbol=o.symbol,
            side=o.side,
            quantity=o.quantity,
            filled_quantity=res.filled_quantity,
            avg_fill_price=res.avg_fill_price,
            reference_price=o.reference_price,
            slippage_bps=res.slippage_bps,
            status=res.status,
            reason=res.reason,
            filled_at=filled_at,
        )
        if not written:  # a different order of the same id is on record (an older plan payload): keep it
            msg = f"{o.symbol}: order id {cid} is on record for another order: result not recorded"
            self.errors.append(msg)
            self.log.event(
                "error",
                msg,
                plan_id=self.plan.plan_id,
                client_order_id=cid,
                symbol=o.symbol,
                payload={"error": "OrderMismatch"},
            )
            return replace(res, status="mismatch", reason=msg)
        new_fill = res.filled_quantity - before.get(cid, 0.0)
        if new_fill > 1e-12:
            slip = "" if res.slippage_bps is None else f", slippage {res.slippage_bps:+.1f} bps"
            self.log.event(
                "fill",
                f"{o.side} {res.filled_quantity:g}/{o.quantity:g} {o.symbol} at "
                f"{res.avg_fill_price:,.4f}{slip} ({res.status})",
                plan_id=self.plan.plan_id,
                client_order_id=cid,
                symbol=o.symbol,
                payload={
                    "filled_quantity": res.filled_quantity,
                    "avg_fill_price": res.avg_fill_price,
                    "reference_price": o.reference_price,
                    "slippage_bps": res.slippage_bps,
                },
            )
        return res

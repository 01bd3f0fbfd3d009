"""Changing protective orders at the broker (what they should be: brokers.protect): `repair` a protection report,
`release` protective orders before a plan's orders compete with them, `protect_after` a plan's fills.

brokers.execution calls `release` before a plan's orders: an order on the exit side of a held position competes
with its protective order for the shares (venues such as Alpaca hold shares for open sell orders), so a reduction
resizes the protective order down to the target and a close or a flip cancels it. After the fills
`protect_after` runs the report on the plan's symbols and repairs it. Resizes go through `Broker.replace`; an OCO
(both legs must change together), a partly filled order or a refused replace is cancelled and placed anew.
Cancels come first and are waited on until final, so two exits never rest together. Every step is audited
(engine.ops.audit_log: "order" before a change, "ack" or "error" after).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from brokers.base import Broker, BrokerError, OrderAck, OrderRejected, OrderStatus, retry
from brokers.protect import (
    EPS,
    MAX_GENERATIONS,
    ProtectionReport,
    Wanted,
    client_order_id,
    exit_side,
    is_protective,
    protection_report,
)
from engine.config import Risk
from engine.ops.audit_log import AuditLog
from engine.ops.rebalance import RebalancePlan


@dataclass(frozen=True)
class RepairStep:
    """One action `repair` took: ok False = it failed (message says why)."""

    symbol: str
    action: str
    ok: bool
    client_order_id: str
    message: str


@dataclass
class _Repair:
    """One repair run's context: the broker, the audit log and how to wait for cancels."""

    broker: Broker
    account_id: str
    log: AuditLog
    origin: str
    plan_id: str | None
    timeout: float
    poll: float
    sleep: Callable[[float], None]
    steps: list[RepairStep] = field(default_factory=list)
    known: dict[str, bool] | None = None  # client_order_id -> open, of every order (read before placing)

    def audit(self, kind: str, message: str, cid: str, symbol: str, **payload: Any) -> None:
        self.log.event(
            kind,
            f"protect: {message}",
            plan_id=self.plan_id,
            client_order_id=cid or None,
            symbol=symbol,
            payload={"broker": self.broker.name, "origin": self.origin, **payload},
        )

    def step(self, symbol: str, action: str, ok: bool, cid: str, message: str) -> bool:
        self.steps.append(RepairStep(symbol, action, ok, cid, message))
        self.audit("ack" if ok else "error", f"{action} {message}", cid, symbol, action=action, ok=ok)
        return ok

    def cancel(self, order: OrderStatus, why: str) -> bool:
        """Cancel `order` and wait until it is final; True only if it ended canceled (not filled meanwhile)."""
        cid, sym = order.client_order_id, order.symbol
        self.audit("order", f"cancel {cid} ({order.type} {order.side} {order.remaining:g} {sym}): {why}", cid, sym)
        try:
            retry(partial(self.broker.cancel, order.id))
        except OrderRejected as e:
            self.audit("error", f"cancel {cid} refused: {e}", cid, sym)
        deadline = time.monotonic() + self.timeout
        while True:
            st = retry(partial(self.broker.order, cid))
            if st is None or not st.is_open or time.monotonic() >= deadline:
                break
            self.sleep(self.poll)
        status = "unknown" if st is None else st.status
        return self.step(sym, "cancel", status == "canceled", cid, f"{cid}: {status}")

    def place(self, want: Wanted) -> bool:
        """Submit `want` under the first generation of its id the broker does not know; nothing when a generation
        is open already (a stale report, or another run placed it meanwhile)."""
        if self.known is None:
            self.known = {o.client_order_id: o.is_open for o in retry(lambda: self.broker.orders("all"))}
        for generation in range(1, MAX_GENERATIONS + 1):
            cid = client_order_id(self.account_id, want.symbol, want.side, want.kind, generation)
            if self.known.get(cid):
                return self.step(want.symbol, "place", True, cid, f"{want.describe()}: {cid} is open, nothing sent")
            if cid in self.known:
                continue
            self.known[cid] = True
            self.audit("order", f"place {want.describe()}", cid, want.symbol, want=want.__dict__)
            try:
                ack: OrderAck = retry(partial(self.broker.submit, want.request(cid)))
            except BrokerError as e:
                return self.step(want.symbol, "place", False, cid, f"{want.describe()}: {type(e).__name__}: {e}")
            if ack.duplicate and ack.status not in ("new", "partially_filled"):
                continue  # an old final order of this id: the next generation
            note = "already placed, nothing sent" if ack.duplicate else ack.status
            return self.step(want.symbol, "place", True, cid, f"{want.describe()}: {note} (broker id {ack.id})")
        raise AssertionError("unreachable")  # pragma: no cover

    def resize(self, order: OrderStatus, want: Wanted) -> bool:
        """Broker.replace to the wanted quantity and prices; False when the venue refused (then renew)."""
        cid = order.client_order_id
        changes = {"quantity": want.quantity, "limit_price": want.limit_price, "stop_price": want.stop_price}
        changes["trail"] = want.trail_percent  # ours trail in percent (the order's own unit)
        self.audit("order", f"resize {cid} to {want.describe()}", cid, want.symbol)
        try:
            retry(partial(self.broker.replace, order.id, **changes))
        except OrderRejected as e:
            self.audit("error", f"replace of {cid} refused ({e}): cancel and place anew", cid, want.symbol)
            return False
        return self.step(want.symbol, "resize", True, cid, f"{cid} -> {want.describe()}")


def repair(
    broker: Broker,
    report: ProtectionReport,
    *,
    log: AuditLog | None = None,
    origin: str = "cli",
    plan_id: str | None = None,
    timeout: float = 10.0,
    poll: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RepairStep]:
    """Fix every row of `report` with an action: cancels first (each waited on until final), then resizes (a
    refused replace becomes a renew), then placements (a renew only when its cancel ended canceled: a protective
    order that filled meanwhile changed the position). "refused" rows are left as they are."""
    run = _Repair(broker, report.account_id, log or AuditLog(), origin, plan_id, timeout, poll, sleep)
    todo = [r for r in report.rows if r.action]
    place: list[Wanted] = [r.want for r in todo if r.action == "place" and r.want is not None]
    for r in todo:
        if r.action in ("cancel", "renew") and r.order is not None:
            canceled = run.cancel(r.order, r.message)
            if canceled and r.action == "renew" and r.want is not None:
                place.append(r.want)
    for r in todo:
        if r.action == "resize" and r.order is not None and r.want is not None and not run.resize(r.order, r.want):
            if run.cancel(r.order, "replace refused"):
                place.append(r.want)
    for w in place:
        run.place(w)
    return run.steps


def release(
    broker: Broker,
    plan: RebalancePlan,
    *,
    log: AuditLog,
    timeout: float = 10.0,
    poll: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RepairStep]:
    """Before `plan`'s orders: shrink (simple order) or cancel (OCO, close, flip) the protective orders on the
    exit side of every planned order that reduces or closes a held position (see module docstring)."""
    exits = {o.symbol: o for o in plan.orders if abs(plan.positions.get(o.symbol, 0.0)) > EPS}
    exits = {s: o for s, o in exits.items() if o.side == exit_side(plan.positions[s])}
    if not exits:
        return []
    run = _Repair(broker, plan.account_id, log, "execute", plan.plan_id, timeout, poll, sleep)
    for order in retry(lambda: broker.orders("open")):
        o = exits.get(order.symbol)
        if o is None or not is_protective(order) or order.side != o.side:
            continue
        cur, tgt = plan.positions[order.symbol], plan.target_quantities.get(order.symbol, 0.0)
        keep = abs(tgt) if tgt * cur > 0 else 0.0
        if order.remaining <= keep + EPS:
            continue
        simple = order.order_class == "simple" and order.filled_quantity <= EPS
        if keep > EPS and simple:
            cid = order.client_order_id
            run.audit("order", f"resize {cid} to {keep:g} before the plan's {o.side}", cid, order.symbol)
            try:
                retry(partial(broker.replace, order.id, quantity=keep))
                run.step(order.symbol, "resize", True, cid, f"{cid}: quantity {order.remaining:g} -> {keep:g}")
                continue
            except OrderRejected as e:
                run.audit("error", f"replace of {cid} refused ({e}): cancel", cid, order.symbol)
        run.cancel(order, f"the plan's {o.side} {o.quantity:g} {'reduces' if keep > EPS else 'closes'} the position")
    return run.steps


def protect_after(
    broker: Broker,
    plan: RebalancePlan,
    *,
    log: AuditLog,
    timeout: float = 10.0,
    poll: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> list[RepairStep]:
    """After `plan`'s fills: the report on the plan's symbols, repaired. A "refused" row (the venue cannot hold
    the order) comes back as a failed step of action "refused", audited as an error."""
    report = protection_report(broker, Risk(**plan.protection), plan.targets, account_id=plan.account_id)
    steps = repair(broker, report, log=log, origin="execute", plan_id=plan.plan_id, timeout=timeout, poll=poll,
                   sleep=sleep)  # fmt: skip
    for r in report.rows:
        if r.status == "refused":
            log.event("error", f"protect: {r.message}", plan_id=plan.plan_id, symbol=r.symbol)
            steps.append(RepairStep(r.symbol, "refused", False, "", r.message))
    return steps

"""Flatten (DESIGN §8): kill switch on, cancel every open order, close every position at market, wait, report.

The emergency exit, so it must always work: it runs while the kill switch is on (the switch blocks plan
executions, not this), and it is safe to repeat:

- Each run has an id (engine.ops.desk_store flatten runs). A run interrupted by a broker disconnect stays
  "running" and the next flatten resumes it under the same id.
- A closing order's client_order_id is `<run id>-<symbol>` (then `-2`, `-3` ... only if the previous one is
  final and the position is still there), and the broker is asked for that id before anything is sent, so a
  retry or a rerun never sends the same close twice. The run's own pending closes are not canceled on resume.
- A second flatten of a flat account with no open orders sends and cancels nothing.

Every step goes to the audit log under the run id (plan_id column): start, kill switch, cancels, closes, fills,
errors, the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from brokers.base import Broker, BrokerError, OrderRequest, OrderStatus, retry
from brokers.desk import cancel_all
from brokers.services import Origin, kill_switch_status, switch_kill_switch
from engine.alerts import alert
from engine.ops.audit_log import AuditLog
from engine.ops.desk_store import DeskStore

EPS = 1e-9
FLATTEN_REASON = "flatten"


@dataclass
class FlattenReport:
    """What one flatten did. status: "flat" (nothing open, nothing held), "incomplete" (timeout: see
    still_open / still_held) or "interrupted" (a broker error: rerun to resume). Quantities in units."""

    run_id: str
    broker: str
    account_id: str
    resumed: bool
    status: str = "incomplete"
    canceled: list[dict[str, Any]] = field(default_factory=list)
    closes: list[dict[str, Any]] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    still_held: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sent: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        head = f"flatten {self.run_id} on {self.broker} {self.account_id}" + (" (resumed)" if self.resumed else "")
        body = f"{len(self.canceled)} order(s) canceled, {self.sent} closing order(s) sent"
        if self.status == "flat":
            return f"{head}: FLAT: {body}"
        left = ", ".join(f"{s} {q:g}" for s, q in self.still_held.items()) or "none"
        return (
            f"{head}: {self.status.upper()}: {body}; still held: {left}; still open orders: "
            f"{len(self.still_open)}; run `ivybt flatten` again to resume"
        )


def _close_id(broker: Broker, base: str) -> tuple[str, OrderStatus | None]:
    """The client_order_id to use for this symbol's close: the first of base, base-2, ... that is unknown to
    the broker or still open (returned with its status)."""
    cid, k = base, 1
    while True:
        st = retry(partial(broker.order, cid), attempts=3, backoff=0.2)
        if st is None or st.is_open:
            return cid, st
        k += 1
        cid = f"{base}-{k}"


def flatten(
    broker: Broker,
    timeout: float = 30.0,
    poll: float = 0.5,
    attempts: int = 3,
    origin: Origin = "cli",
    store: DeskStore | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FlattenReport:
    """Flatten the account (see module docstring). Raises BrokerError only if the account cannot be read at
    all; a later broker error ends the run as "interrupted" (audited) and a rerun resumes it."""
    desk = store or DeskStore()
    log = AuditLog()
    account = retry(broker.account, attempts=attempts, backoff=0.2)
    run_id, resumed = desk.open_flatten_run(broker.name, account.account_id)
    rep = FlattenReport(run_id, broker.name, account.account_id, resumed)

    def audit(kind: str, message: str, cid: str | None = None, symbol: str | None = None, **kw: Any) -> None:
        log.event(
            kind,
            f"flatten {run_id}: {message}",
            plan_id=run_id,
            client_order_id=cid,
            symbol=symbol,
            payload={"origin": origin, **kw},
        )

    audit("execute", f"{'resumed' if resumed else 'started'} on {broker.name} {account.account_id} ({origin})")
    if kill_switch_status() is None:
        switch_kill_switch(True, FLATTEN_REASON, origin=origin)
    audit("kill_switch", f"kill switch is ON: {kill_switch_status()}")
    try:
        rep.canceled = cancel_all(broker, origin=origin, keep_prefix=run_id, plan_id=run_id)
        pending: dict[str, str] = {}  # client_order_id -> symbol
        for p in retry(broker.positions, attempts=attempts, backoff=0.2):
            if abs(p.quantity) <= EPS:
                continue
            cid, st = _close_id(broker, f"{run_id}-{p.symbol}")
            if st is None:
                side = "sell" if p.quantity > 0 else "buy"
                order = OrderRequest(p.symbol, abs(p.quantity), side, "market", client_order_id=cid)
                ack = retry(partial(broker.submit, order), attempts=attempts, backoff=0.2)
                rep.sent += 0 if ack.duplicate else 1
                audit("ack", f"close {side} {abs(p.quantity):g} {p.symbol}: {ack.status}", cid, p.symbol)
            pending[cid] = p.symbol
        deadline = time.monotonic() + timeout
        final: dict[str, OrderStatus] = {}
        while pending.keys() - final.keys():
            for cid in sorted(pending.keys() - final.keys()):
                st = retry(partial(broker.order, cid), attempts=attempts, backoff=0.2)
                if st is not None and not st.is_open:
                    final[cid] = st
                    kind = "fill" if st.filled_quantity > 0 else "error"
                    audit(kind, f"close {st.status} {st.filled_quantity:g} @ {st.avg_fill_price}", cid, st.symbol)
            if not pending.keys() - final.keys() or time.monotonic() >= deadline:
                break
            sleep(poll)
        rep.closes = [
            {"client_order_id": c, "symbol": s, "status": final[c].status if c in final else "open"}
            for c, s in sorted(pending.items())
        ]
        rep.still_open = [o.id for o in retry(lambda: broker.orders("open"), attempts=attempts, backoff=0.2)]
        rep.still_held = {
            p.symbol: p.quantity
            for p in retry(broker.positions, attempts=attempts, backoff=0.2)
            if abs(p.quantity) > EPS
        }
    except BrokerError as e:
        rep.status = "interrupted"
        rep.errors.append(f"{type(e).__name__}: {e}")
        audit("error", f"interrupted: {type(e).__name__}: {e}; run flatten again to resume", error=type(e).__name__)
        alert("flatten", f"Flatten INTERRUPTED on {broker.name} ({origin})", f"{rep.errors[-1]}; run flatten again")
        return rep
    rep.status = "flat" if not rep.still_open and not rep.still_held else "incomplete"
    if rep.status == "flat":
        desk.finish_flatten_run(run_id)
    summary = f"{len(rep.canceled)} canceled, {rep.sent} sent"
    audit("execute", f"result {rep.status.upper()}: {summary}", status=rep.status)
    held = ", ".join(f"{s} {q:g}" for s, q in rep.still_held.items()) or "none"
    alert("flatten", f"Flatten {rep.status.upper()} on {broker.name} ({origin})", f"{summary}; still held: {held}")
    return rep

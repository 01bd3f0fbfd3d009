"""Daily operations on a Broker: plan a signal for an account, execute the plan, reconcile, report.

`plan_rebalance(signal, broker)` reads the account (equity, cash, positions, latest prices), builds the plan
(engine.ops.rebalance), runs the pre-trade checks (engine.ops.risk) and stores plan and checks in the audit log.

`execute_plan(plan, broker)` sends it:
1. refuses a plan with a failed check, a kill switch turned on since planning, or a live account without the
   typed confirmation (the account id);
2. takes the plan's execution lease in the audit log, so two executions of one plan (two clicks, two tabs,
   two processes) run one after the other; the second finds every order already known and sends nothing;
3. submits the sells, then, when the cash at planning time does not cover the buys, waits for the sells to
   finish (polling order statuses until `timeout`), then submits the buys;
4. polls every order until it is final or `timeout` passes (a partial fill stays reported as partial);
5. records each ack, fill (with slippage against the plan's reference price) and error; reconciles the
   account's positions against the plan's target quantities; optionally posts a webhook.

Every refusal (failed check, kill switch, wrong broker, missing live confirmation, PlanBusy), every planning
error (no price, no account) and every failed status poll also writes an audit `error` event.

Idempotency: each order carries `client_order_id = f"{plan_id}-{symbol}"` and every adapter's `submit` places
an id once, so a retry after a dropped connection (`brokers.base.retry`, only `BrokerUnavailable`), a re-run
of the plan, or a concurrent run never sends an order twice.

Mismatches: the plan id depends on the signal and the account, not on its holdings, so planning the same
signal again after (part of) it was executed gives the same ids for different orders (e.g. small sells after
the buys filled). Such an order is never sent and never overwrites the first order's recorded result: when
the broker already knows the id with another side or quantity, the order is reported as "mismatch" with an
audit error, and the execution is not "complete". A new signal (the next session's data) gets new ids.

Fill quality: slippage_bps = (fill / reference - 1) x 1e4 for buys and (1 - fill / reference) x 1e4 for sells
(positive = worse than the reference). The reference is the price the plan was sized with: the broker's latest
price at planning time. The backtest assumes the next session's open; when a plan is made before the open on
the previous close, that reference is the bar the backtest decided on, and the measured slippage includes the
overnight gap (that is the gap between research and reality we want to see).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from brokers.base import (
    Broker,
    BrokerConfigError,
    BrokerError,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    retry,
)
from engine.errors import EngineError
from engine.ops.audit_log import AuditLog
from engine.ops.notify import send_webhook, webhook_url
from engine.ops.rebalance import PlannedOrder, RebalancePlan, build_plan
from engine.ops.risk import RiskCheckFailed, RiskLimits, check_plan, kill_switch_reason, load_limits, require_approved
from engine.ops.signals import SignalReport

FINAL = frozenset({"filled", "canceled", "rejected", "expired"})
QTY_TOL = 1e-6  # units: a known order "matches" a planned one when side and quantity agree within this
RECON_COLUMNS: tuple[str, ...] = (
    "symbol",
    "target_quantity",
    "actual_quantity",
    "residual",
    "residual_value",
    "status",
)


class PlanBusy(BrokerError):
    """Another session holds the plan's execution lease (it is being executed right now)."""


@dataclass(frozen=True)
class OrderResult:
    """What happened to one planned order. sent: this execution placed it (False: the broker already had it,
    or it was never accepted). slippage_bps: see module docstring (None without a fill)."""

    client_order_id: str
    symbol: str
    side: str
    quantity: float
    status: str
    filled_quantity: float
    avg_fill_price: float | None
    reference_price: float
    slippage_bps: float | None
    reason: str = ""
    sent: bool = False
    broker_order_id: str = ""


@dataclass(frozen=True)
class ExecutionReport:
    """Outcome of `execute_plan`. status: "complete" (every order filled, no errors, no reconciliation
    residual), "partial" (something missing, open, rejected, mismatched, unconfirmed or a residual left) or
    "failed" (nothing filled and errors)."""

    plan_id: str
    broker: str
    status: str
    orders: tuple[OrderResult, ...]
    reconciliation: pd.DataFrame
    errors: tuple[str, ...]
    started_at: str
    finished_at: str
    notified: bool | None = None
    sent: int = 0

    def orders_frame(self) -> pd.DataFrame:
        cols = [
            "client_order_id",
            "symbol",
            "side",
            "quantity",
            "status",
            "filled_quantity",
            "avg_fill_price",
            "reference_price",
            "slippage_bps",
            "sent",
            "reason",
        ]
        return pd.DataFrame([[getattr(o, c) for c in cols] for o in self.orders], columns=cols)

    def summary(self) -> str:
        filled = sum(1 for o in self.orders if o.status == "filled")
        return (
            f"plan {self.plan_id} on {self.broker}: {self.status.upper()}; {filled}/{len(self.orders)} filled, "
            f"{self.sent} sent now, {len(self.errors)} error(s)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "broker": self.broker,
            "status": self.status,
            "orders": [o.__dict__ for o in self.orders],
            "reconciliation": self.reconciliation.to_dict(orient="records"),
            "errors": list(self.errors),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "notified": self.notified,
            "sent": self.sent,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat()


def slippage_bps(side: str, fill: float | None, reference: float) -> float | None:
    """Signed slippage in basis points (positive = worse than `reference`)."""
    if fill is None or not reference:
        return None
    return (fill / reference - 1.0) * 1e4 if side == "buy" else (1.0 - fill / reference) * 1e4


def broker_status(broker: Broker) -> dict[str, Any]:
    """Connection and account summary for display: never raises BrokerError, never includes secrets."""
    out: dict[str, Any] = {"broker": broker.name, "live": bool(broker.is_live), "connected": False}
    try:
        acct = retry(broker.account, attempts=2, backoff=0.2)
        positions = retry(broker.positions, attempts=2, backoff=0.2)
    except BrokerError as e:
        out["error"] = f"{type(e).__name__}: {e}"
        return out
    out.update(
        connected=True,
        account_id=acct.account_id,
        equity=acct.equity,
        cash=acct.cash,
        buying_power=acct.buying_power,
        currency=acct.currency,
        positions=len(positions),
        live=bool(broker.is_live or acct.is_live),
    )
    return out


def plan_rebalance(
    signal: SignalReport,
    broker: Broker,
    *,
    limits: RiskLimits | None = None,
    min_notional: float | None = None,
    cash_buffer: float = 0.001,
    log: AuditLog | None = None,
    now: datetime | None = None,
    record: bool = True,
) -> RebalancePlan:
    """Plan `signal` for the broker's account and run the risk checks (see module docstring).

    min_notional: smallest order value; default the broker's (BrokerCapabilities.min_notional). cash_buffer:
    fraction of equity kept out of long targets (engine.ops.rebalance). limits:
    default `engine.ops.risk.load_limits()` (workspace file or defaults). The account equity is recorded as a
    snapshot AFTER the checks read the history (the daily-loss and drawdown checks compare against it).
    Symbols the broker does not trade in fractions (`Broker.fractionable`) get whole units. A broker with a
    clock (`market_open()`, Alpaca) adds a market_hours warning when the market is closed. A broker or data
    error is written to the audit log as an `error` event and raised.
    """
    log = log if log is not None else AuditLog()
    try:
        plan = _make_plan(signal, broker, limits, min_notional, cash_buffer, log, now)
    except (BrokerError, EngineError) as e:
        log.event(
            "error",
            f"planning {signal.preset} on {broker.name} failed: {type(e).__name__}: {e}",
            payload={"stage": "plan", "preset": signal.preset, "broker": broker.name, "error": type(e).__name__},
        )
        raise
    if record:
        _record_plan(plan, log)
    return plan


def _whole_share_symbols(broker: Broker, symbols: list[str]) -> list[str]:
    """Symbols the broker does not take fractions of (none asked when the account has no fractions at all)."""
    ask = getattr(broker, "fractionable", None)
    if not broker.capabilities.fractional or ask is None:
        return []
    flags = retry(lambda: ask(symbols))
    return sorted(s for s in symbols if not flags.get(s, True))


def _market_open(broker: Broker) -> bool | None:
    """The broker clock's answer, or None when the broker has no clock."""
    ask = getattr(broker, "market_open", None)
    return None if ask is None else bool(retry(ask))


def _make_plan(
    signal: SignalReport,
    broker: Broker,
    limits: RiskLimits | None,
    min_notional: float | None,
    cash_buffer: float,
    log: AuditLog,
    now: datetime | None,
) -> RebalancePlan:
    limits = limits if limits is not None else load_limits()
    acct = retry(broker.account)
    held = retry(broker.positions)
    symbols = list(signal.symbols)
    prices = retry(lambda: broker.latest_prices(symbols))
    caps = broker.capabilities
    plan = build_plan(
        preset=signal.preset,
        data_timestamp=signal.data_timestamp,
        targets=signal.targets,
        equity=acct.equity,
        cash=acct.cash,
        prices=prices,
        positions={p.symbol: p.quantity for p in held},
        position_values={p.symbol: p.market_value for p in held},
        broker=broker.name,
        account_id=acct.account_id,
        is_live=bool(broker.is_live or acct.is_live),
        fractional=caps.fractional,
        shorting=caps.shorting,
        min_notional=max(caps.min_notional, min_notional or 0.0),
        costs_bps=signal.costs_bps,
        stale=signal.stale,
        stops=signal.stops,
        signal_id=signal.signal_id,
        cash_buffer=cash_buffer,
        whole_shares=_whole_share_symbols(broker, symbols),
    )
    history = log.equity_history(broker.name, acct.account_id)
    checks = check_plan(
        plan,
        limits,
        equity_history=history,
        kill_switch=kill_switch_reason(),
        now=now,
        market_open=_market_open(broker),
    )
    return plan.with_checks(checks)


def _record_plan(plan: RebalancePlan, log: AuditLog) -> None:
    log.record_equity(plan.broker, plan.account_id, plan.equity)
    log.record_plan(
        plan.plan_id, plan.preset, plan.broker, plan.account_id, plan.data_timestamp, plan.approved, plan.to_dict()
    )
    log.event(
        "plan",
        plan.summary(),
        plan_id=plan.plan_id,
        payload={"orders": [o.__dict__ for o in plan.orders], "skipped": plan.skipped},
    )
    for c in plan.checks:
        if c.status != "pass":
            log.event(
                "check",
                f"{c.name} {c.status.upper()}: {c.message}",
                plan_id=plan.plan_id,
                payload={"check": c.name, "status": c.status, "value": c.value, "limit": c.limit},
            )


def _differs(o: PlannedOrder, side: str, quantity: float) -> bool:
    """True when a known order (side, quantity) is not the planned order `o`."""
    return side != o.side or abs(float(quantity) - o.quantity) > QTY_TOL


class _Executor:
    """One run of one plan (state shared by the steps of `execute_plan`)."""

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

    def submit(self, o: PlannedOrder) -> None:
        pid, cid = self.plan.plan_id, o.client_order_id
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
        self._log_ack(o, ack)

    def _log_ack(self, o: PlannedOrder, ack: OrderAck) -> None:
        self.log.event(
            "ack",
            ("already known to the broker, nothing sent" if ack.duplicate else "accepted")
            + f": {ack.status} (broker id {ack.id})",
            plan_id=self.plan.plan_id,
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            payload={"broker_order_id": ack.id, "status": ack.status, "duplicate": ack.duplicate},
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
                st = self._retry(lambda cid=o.client_order_id: self.broker.order(cid))
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


def reconcile(
    plan: RebalancePlan, broker: Broker, *, attempts: int = 3, sleep: Callable[[float], None] = time.sleep
) -> pd.DataFrame:
    """Positions now vs the plan's target quantities, per managed symbol (RECON_COLUMNS); status "ok" when
    the residual is below 1e-6 units, else "residual". residual = target - actual (units)."""
    held = {p.symbol: p.quantity for p in retry(broker.positions, attempts=attempts, sleep=sleep)}
    rows = []
    for sym in sorted(plan.target_quantities):
        tgt, act = plan.target_quantities[sym], float(held.get(sym, 0.0))
        res = tgt - act
        rows.append((sym, tgt, act, res, res * plan.prices[sym], "ok" if abs(res) < 1e-6 else "residual"))
    return pd.DataFrame(rows, columns=list(RECON_COLUMNS))


def execute_plan(
    plan: RebalancePlan,
    broker: Broker,
    *,
    confirm: str | None = None,
    log: AuditLog | None = None,
    timeout: float = 30.0,
    poll_interval: float = 0.25,
    attempts: int = 3,
    backoff: float = 0.5,
    lease_wait: float | None = None,
    notify: bool = True,
    webhook: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionReport:
    """Execute an approved plan on `broker` (see module docstring).

    confirm: for a live account, the account id typed by the user (anything else refuses). timeout: seconds
    to wait for sells before buys and for final statuses. attempts/backoff: retries of BrokerUnavailable.
    lease_wait: how long to wait for a concurrent execution of the same plan (default `timeout` + 30 s);
    then PlanBusy. notify + webhook: post plan and result to `webhook` (default $IVYBT_WEBHOOK_URL; no URL =
    no notification); a failing webhook is logged and never changes the result.
    Raises RiskCheckFailed (failed check or kill switch), BrokerConfigError (live without confirmation,
    broker or account not the plan's), PlanBusy.
    """
    log = log if log is not None else AuditLog()
    try:
        _admit(plan, broker, confirm, log)
    except (RiskCheckFailed, BrokerConfigError) as e:
        _refused(log, plan, e)
        raise
    log.record_plan(
        plan.plan_id, plan.preset, plan.broker, plan.account_id, plan.data_timestamp, plan.approved, plan.to_dict()
    )
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + (lease_wait if lease_wait is not None else timeout + 30.0)
    while not log.acquire_lease(plan.plan_id, owner, seconds=max(timeout * 3 + 60.0, 120.0)):
        if time.monotonic() >= deadline:
            busy = PlanBusy(f"plan {plan.plan_id} is being executed by another session; try again when it is done")
            _refused(log, plan, busy)
            raise busy
        time.sleep(0.05)
    started = _now()
    try:
        log.set_plan_status(plan.plan_id, "executing")
        log.event("execute", f"execute {plan.summary()}", plan_id=plan.plan_id)
        before = {
            r.client_order_id: float(r.filled_quantity) for r in log.order_results(plan_id=plan.plan_id).itertuples()
        }
        ex = _Executor(plan, broker, log, attempts, backoff, timeout, poll_interval, sleep)
        for o in plan.sells:
            ex.submit(o)
        buys = plan.buys
        need = sum(o.notional for o in buys) * (1.0 + plan.costs_bps / 1e4)
        if buys and plan.sells and need > plan.cash:
            ex.wait(plan.sells)  # the buys need the sells' cash
        for o in buys:
            ex.submit(o)
        ex.wait(list(plan.orders))
        results = tuple(ex.result(o, before) for o in plan.orders)
        try:
            recon = reconcile(plan, broker, attempts=attempts, sleep=sleep)
        except BrokerError as e:
            ex.errors.append(f"reconcile: {type(e).__name__}: {e}")
            recon = pd.DataFrame(columns=list(RECON_COLUMNS))
        status = _overall(results, ex.errors, recon)
        log.event(
            "reconcile",
            f"{status}: "
            + (
                "; ".join(f"{r.symbol} residual {r.residual:g}" for r in recon.itertuples() if r.status != "ok")
                or "no residuals"
            ),
            plan_id=plan.plan_id,
            payload={"reconciliation": recon.to_dict(orient="records")},
        )
        log.set_plan_status(plan.plan_id, status)
        report = ExecutionReport(
            plan.plan_id, broker.name, status, results, recon, tuple(ex.errors), started, _now(), sent=len(ex.sent)
        )
    finally:
        log.release_lease(plan.plan_id, owner)
    url = webhook_url(webhook) if notify else None
    if url:
        ok = send_webhook(
            f"IvyBT {plan.preset}: {status}",
            [
                plan.summary(),
                report.summary(),
                *[f"{o.side} {o.filled_quantity:g}/{o.quantity:g} {o.symbol}: {o.status}" for o in results],
            ],
            url=url,
        )
        log.event(
            "notify",
            "webhook delivered" if ok else "webhook FAILED (see the log; trading not affected)",
            plan_id=plan.plan_id,
            payload={"ok": ok},
        )
        report = replace(report, notified=ok)
    return report


def _admit(plan: RebalancePlan, broker: Broker, confirm: str | None, log: AuditLog) -> None:
    """Raise if `plan` may not be executed on `broker` now (checks, kill switch, broker, live confirmation)."""
    require_approved(plan)
    reason = kill_switch_reason()
    if reason:
        log.event("kill_switch", f"execution of {plan.plan_id} refused: {reason}", plan_id=plan.plan_id)
        raise RiskCheckFailed(f"plan {plan.plan_id} blocked: kill switch is ON: {reason}")
    if broker.name != plan.broker:
        raise BrokerConfigError(f"plan {plan.plan_id} was made for broker {plan.broker!r}, not {broker.name!r}")
    if plan.is_live or broker.is_live:
        if not confirm or confirm.strip() != plan.account_id:
            typed = "nothing" if not confirm else f"{confirm.strip()!r}"
            raise BrokerConfigError(
                f"plan {plan.plan_id} trades the LIVE account {plan.account_id}: type the "
                f"account id to confirm (got {typed})"
            )


def _refused(log: AuditLog, plan: RebalancePlan, e: Exception) -> None:
    log.event(
        "error",
        f"execution refused: {type(e).__name__}: {e}",
        plan_id=plan.plan_id,
        payload={"stage": "execute", "error": type(e).__name__},
    )


def _overall(results: tuple[OrderResult, ...], errors: list[str], recon: pd.DataFrame | None = None) -> str:
    """complete / partial / failed (see ExecutionReport); a reconciliation residual is never complete."""
    residual = recon is not None and not recon.empty and bool((recon["status"] != "ok").any())
    if all(r.status == "filled" for r in results) and not errors and not residual:
        return "complete"
    if any(r.filled_quantity > 0 for r in results):
        return "partial"
    if errors or any(r.status in ("rejected", "unknown", "mismatch") for r in results):
        return "failed"
    return "partial"


def notify_plan(plan: RebalancePlan, webhook: str | None = None) -> bool:
    """Post the plan summary and its checks to the webhook (never raises); False if none or it failed."""
    lines = [
        plan.summary(),
        *[f"{c.name}: {c.status} - {c.message}" for c in plan.checks if c.status != "pass"],
        *[f"{o.side} {o.quantity:g} {o.symbol} ~{o.notional:,.2f}" for o in plan.orders],
    ]
    return send_webhook(f"IvyBT plan {plan.preset}", lines, url=webhook)


__all__ = [
    "ExecutionReport",
    "OrderResult",
    "PlanBusy",
    "broker_status",
    "execute_plan",
    "notify_plan",
    "plan_rebalance",
    "reconcile",
    "slippage_bps",
]

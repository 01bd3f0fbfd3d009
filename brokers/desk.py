"""The desk services both front ends use (the Desk page and `ivybt positions|orders|account`): read the account,
positions and orders of a broker, cancel and modify orders, and keep the account's equity history.

Every account read here is snapshotted into the workspace database (engine.ops.desk_store: equity, cash, gross /
net exposure), so the equity history and the day P&L (against the previous session's last snapshot) build up
as the desk is used; a broker that reports its own history (`portfolio_history`, Alpaca) has it imported too.
Each account read also looks for protective orders that triggered at the broker since the last read and alerts
each once (brokers.order_events).
Cancels and modifications are audited (engine.ops.audit_log, kind "order"). The numbers themselves are
computed by engine.ops.desk (pure, broker-independent). Money in the account currency.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import Any

import pandas as pd

from brokers.base import Broker, BrokerConfigError, BrokerError, OrderRejected, OrderStatus, check_order_query, retry
from brokers.order_events import alert_triggered
from brokers.services import Origin
from engine.data import load_market_data
from engine.errors import ConfigError, EngineError
from engine.ops.audit_log import AuditLog
from engine.ops.desk import account_summary as summarize
from engine.ops.desk import filter_orders, orders_frame, positions_frame, previous_session_equity
from engine.ops.desk import previous_closes as closes_before_today
from engine.ops.desk_store import DeskStore
from engine.ops.signals import generate_signals
from engine.orders.rules import NEEDS_LIMIT, NEEDS_STOP, is_price, order_problem
from engine.store.presets import load_preset

SIDES_FILTER: tuple[str, ...] = ("buy", "sell")
MODIFY_FIELDS: tuple[str, ...] = ("quantity", "limit_price", "stop_price", "trail")
"""What `modify_order` changes (`trail` in the order's own unit: percent or currency, as it was placed)."""
logger = logging.getLogger(__name__)


def _read(fn: Any) -> Any:
    return retry(fn, attempts=2, backoff=0.2)


def account_view(broker: Broker, now: datetime | None = None, store: DeskStore | None = None) -> dict[str, Any]:
    """Account summary (engine.ops.desk.account_summary) and a snapshot of it in the equity history.

    Day P&L is measured against the last snapshot of an earlier New York session (None before there is one).
    """
    desk = store or DeskStore()
    account = _read(broker.account)
    positions = _read(broker.positions)
    previous = previous_session_equity(desk.history(broker.name, account.account_id)["equity"], now)
    out = summarize(account, positions, previous, broker=broker.name, live=bool(broker.is_live))
    desk.record_snapshot(
        broker.name, account.account_id, out["equity"], out["cash"], out["gross_exposure"], out["net_exposure"], now
    )
    try:
        alert_triggered(broker)
    except (BrokerError, EngineError) as e:  # the desk still shows the account; the next read tries again
        logger.warning("%s: protective-order alerts not checked: %s", broker.name, e)
    return out


def financing_view(broker: Broker) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """(every financing charge of the account, oldest first: day, kind, symbol, amount, basis, rate; the total
    per kind) from a broker that keeps a financing ledger (paper). Alpaca and IBKR charge financing in their own
    statements: BrokerConfigError naming the broker."""
    ledger = getattr(broker, "financing_ledger", None)
    if ledger is None:
        raise BrokerConfigError(
            f"{broker.name}: its financing (borrow fees, margin interest) is in the broker's own statements; "
            "IvyBT keeps a financing ledger for the paper broker"
        )
    rows = list(_read(ledger))
    totals: dict[str, float] = {}
    for r in rows:
        totals[str(r["kind"])] = totals.get(str(r["kind"]), 0.0) + float(r["amount"])
    return rows, totals


def preset_targets(preset: str) -> dict[str, float]:
    """Today's target weights of a preset (engine.ops.signals, not recorded in the audit log)."""
    return dict(generate_signals(load_preset(preset), record=False).targets)


def workspace_previous_closes(symbols: list[str], now: datetime | None = None) -> dict[str, float]:
    """The previous session's close per symbol from the engine's data (workspace imports, then the bundled
    sample; refresh them with `ivybt signals --refresh` or the Data page). A symbol without data is left out."""
    out: dict[str, float] = {}
    for sym in symbols:
        try:
            out.update(closes_before_today(load_market_data([sym]).close, now))
        except EngineError:
            continue
    return out


def positions_view(
    broker: Broker,
    targets: Mapping[str, float] | None = None,
    previous_closes: Mapping[str, float] | None = None,
    store: DeskStore | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """(account summary, positions frame): P&L, weight, drift vs `targets` and open orders per symbol.

    previous_closes: per symbol, for today's P&L; None = from the workspace data (workspace_previous_closes).
    """
    summary = account_view(broker, store=store)
    positions = _read(broker.positions)
    symbols = sorted({p.symbol for p in positions})  # a target symbol not held needs no price
    prices = _read(lambda: broker.latest_prices(symbols)) if symbols else {}
    open_orders = _read(lambda: broker.orders("open"))
    closes = workspace_previous_closes(symbols) if previous_closes is None else previous_closes
    frame = positions_frame(positions, prices, summary["equity"], closes, targets, open_orders)
    return summary, frame


def orders_view(
    broker: Broker, status: str = "open", symbol: str | None = None, side: str | None = None, since: Any = None
) -> pd.DataFrame:
    """Orders by state ("open", "closed", "all"), filtered by symbol, side and submission time (naive = UTC)."""
    check_order_query(status)
    if side is not None and side not in SIDES_FILTER:
        raise ConfigError(f"orders: side {side!r} is not one of {SIDES_FILTER}")
    if since is not None:
        try:
            since = pd.Timestamp(since)
        except ValueError as e:
            raise ConfigError(f"orders: since {since!r} is not a date or time") from e
    orders = _read(lambda: broker.orders(status))
    return orders_frame(filter_orders(orders, symbol, side, since))


def _find(broker: Broker, order_id: str) -> OrderStatus | None:
    for o in _read(lambda: broker.orders("all")):
        if order_id in (o.id, o.client_order_id):
            return o
    return None


def cancel_order(broker: Broker, order_id: str, origin: Origin = "cli") -> OrderStatus:
    """Cancel one open order by broker id or client_order_id; audited. OrderRejected if unknown or final."""
    found = _find(broker, order_id.strip())
    if found is None:
        raise OrderRejected(f"{broker.name}: no order {order_id!r}")
    if not found.is_open:
        raise OrderRejected(f"{broker.name}: order {order_id} is {found.status}, not cancelable")
    retry(lambda: broker.cancel(found.id), attempts=2, backoff=0.2)
    after = _find(broker, found.id) or found
    AuditLog().event(
        "order",
        f"order {found.id} ({found.side} {found.quantity:g} {found.symbol}) canceled ({origin})",
        client_order_id=found.client_order_id,
        symbol=found.symbol,
        payload={"broker": broker.name, "order_id": found.id, "status": after.status, "origin": origin},
    )
    return after


def _new_values(
    order: OrderStatus, quantity: float | None, limit_price: float | None, stop_price: float | None, trail: float | None
) -> dict[str, float]:
    """The fields that change (equal to the order's own = unchanged), each checked against the order's type."""
    trail_now = order.trail_percent if order.trail_percent is not None else order.trail_price
    given = {"quantity": quantity, "limit_price": limit_price, "stop_price": stop_price, "trail": trail}
    now = {"quantity": order.quantity, "limit_price": order.limit_price, "stop_price": order.stop_price}
    fits = {"limit_price": order.type in NEEDS_LIMIT, "stop_price": order.type in NEEDS_STOP}
    fits["trail"] = order.type == "trailing_stop"
    out: dict[str, float] = {}
    for name, value in given.items():
        if value is None:
            continue
        if not is_price(value):
            raise OrderRejected(f"modify {order.id}: {name} {value!r} must be a number > 0")
        if name != "quantity" and not fits[name]:
            raise OrderRejected(f"modify {order.id}: {name} {value!r} given, but a {order.type} order has none")
        if value != (trail_now if name == "trail" else now[name]):
            out[name] = float(value)
    if not out:
        raise OrderRejected(f"modify {order.id}: nothing to change (give a new {'/'.join(MODIFY_FIELDS)})")
    if "trail" in out and order.trail_percent is not None and out["trail"] >= 100:
        raise OrderRejected(f"modify {order.id}: trail {out['trail']!r} is a percent and must be below 100")
    q = out.get("quantity")
    if q is not None and q <= order.filled_quantity:
        raise OrderRejected(
            f"modify {order.id}: quantity {q:g} must be above the {order.filled_quantity:g} already filled"
        )
    return out


def _pair_problem(order: OrderStatus, new: Mapping[str, float], orders: list[OrderStatus]) -> str | None:
    """For an order of a bracket / OCO: engine.orders.rules' price-side rules over the group after the change."""
    parent_id = order.parent_id or (order.id if order.legs else "")
    if not parent_id:
        return None
    group = [o for o in orders if parent_id in (o.id, o.parent_id)]
    parent = next((o for o in group if o.id == parent_id), None)
    if parent is None or parent.order_class not in ("bracket", "oco"):
        return None
    price = {o.id: (o.limit_price, o.stop_price) for o in group}
    price[order.id] = (new.get("limit_price", order.limit_price), new.get("stop_price", order.stop_price))
    legs = [o for o in group if o.parent_id == parent_id and o.is_open]
    tp = next((price[o.id][0] for o in legs if o.type == "limit"), None)
    sl = next((price[o.id][1] for o in legs if o.type == "stop"), None)
    limit = price[parent.id][0]
    entry = parent.type if parent.is_open else "market"  # a filled entry's limit no longer binds the exits
    if parent.order_class == "oco":
        entry = "limit"
        tp = limit
    if tp is None or sl is None:
        return None  # one leg left: nothing to keep apart
    view: dict[str, Any] = {
        "take_profit": tp,
        "stop_loss": sl,
        "stop_loss_limit": None,
        "trail_percent": None,
        "trail_price": None,
    }
    view |= {"side": parent.side, "type": entry, "order_class": parent.order_class}
    view |= {"limit_price": limit if entry == "limit" else None, "stop_price": None}
    return order_problem(SimpleNamespace(**view))


def modify_order(
    broker: Broker,
    order_id: str,
    quantity: float | None = None,
    limit_price: float | None = None,
    stop_price: float | None = None,
    trail: float | None = None,
    origin: Origin = "cli",
) -> OrderStatus:
    """Modify one open order (broker id or client_order_id) in place through `broker.replace`; audited.

    Checked before anything is sent (OrderRejected naming the value): the order exists and is open; each new
    value is a number > 0 and fits the order's type (a limit price only on limit / stop-limit orders, a stop
    price only on stop / stop-limit, `trail` only on a trailing stop, in its own unit: a percent below 100 or
    currency); a quantity is above what already filled (fractions only where the broker takes them); at least
    one value differs from the order's own; a bracket's / OCO's prices stay on the right sides (engine.orders.rules).
    Sent once (not retried: a lost answer is not resent). Returns the order after the change (on a broker that
    replaces with a new order id, the new order).
    """
    orders = _read(lambda: broker.orders("all"))
    key = order_id.strip()
    found = next((o for o in orders if key in (o.id, o.client_order_id)), None)
    if found is None:
        raise OrderRejected(f"{broker.name}: no order {order_id!r}")
    if not found.is_open:
        raise OrderRejected(f"{broker.name}: order {order_id} is {found.status}, not modifiable")
    new = _new_values(found, quantity, limit_price, stop_price, trail)
    q = new.get("quantity")
    if q is not None and not broker.capabilities.fractional and q != int(q):
        raise OrderRejected(f"modify {found.id}: quantity {q:g}: {broker.name} takes whole units only")
    problem = _pair_problem(found, new, orders)
    if problem:
        raise OrderRejected(f"modify {found.id}: {problem}")
    ack = broker.replace(found.id, **{k: new.get(k) for k in MODIFY_FIELDS})
    after = _find(broker, ack.id) or _find(broker, ack.client_order_id) or found
    old = {"quantity": found.quantity, "limit_price": found.limit_price, "stop_price": found.stop_price}
    old["trail"] = found.trail_percent if found.trail_percent is not None else found.trail_price
    changes = {k: [old[k], v] for k, v in new.items()}
    text = ", ".join(f"{k} {old[k]} -> {v:g}" for k, v in new.items())
    AuditLog().event(
        "order",
        f"order {found.id} ({found.side} {found.quantity:g} {found.symbol} {found.type}) modified: {text} ({origin})",
        client_order_id=found.client_order_id,
        symbol=found.symbol,
        payload={
            "broker": broker.name,
            "order_id": found.id,
            "new_order_id": after.id,
            "changes": changes,
            "status": after.status,
            "origin": origin,
        },
    )
    return after


def cancel_all(
    broker: Broker, origin: Origin = "cli", keep_prefix: str = "", plan_id: str | None = None
) -> list[dict[str, Any]]:
    """Cancel every open order (except client_order_ids starting with `keep_prefix`, if given); each audited
    (under `plan_id`, e.g. a flatten run's id).

    Returns one row per order tried: id, client_order_id, symbol, status after, error ("" if canceled). An
    order that became final meanwhile is reported with its final status, not as an error.
    """
    out = []
    log = AuditLog()
    for o in _read(lambda: broker.orders("open")):
        if keep_prefix and o.client_order_id.startswith(keep_prefix):
            continue
        error = ""
        try:
            retry(partial(broker.cancel, o.id), attempts=2, backoff=0.2)
        except OrderRejected as e:
            error = str(e)
        after = _find(broker, o.id) or o
        if error and not after.is_open:
            error = ""  # it filled or was canceled meanwhile: nothing left to cancel
        log.event(
            "error" if error else "order",
            f"cancel {o.id} ({o.side} {o.quantity:g} {o.symbol}, {origin}): " + (error or after.status),
            plan_id=plan_id,
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            payload={"broker": broker.name, "order_id": o.id, "status": after.status, "origin": origin},
        )
        out.append(
            {
                "id": o.id,
                "client_order_id": o.client_order_id,
                "symbol": o.symbol,
                "status": after.status,
                "error": error,
            }
        )
    return out


def import_broker_history(broker: Broker, account_id: str, store: DeskStore | None = None) -> int:
    """Import the equity history the broker reports itself (`broker.portfolio_history()`, when the adapter has
    it: Alpaca) into the desk store; returns the number of new points (0 for a broker without one)."""
    fetch = getattr(broker, "portfolio_history", None)
    if not callable(fetch):
        return 0
    points = _read(fetch)
    return (store or DeskStore()).import_history(broker.name, account_id, points, source=f"{broker.name} history")


def equity_history(broker: Broker, store: DeskStore | None = None) -> pd.DataFrame:
    """The account's snapshots (equity, cash, gross / net exposure, source) with their drawdown (fraction <= 0).

    Reads the account once (which adds today's snapshot) to know which account's history to show, then imports
    the broker's own history first (import_broker_history). A failed import is a warning, never an error: it is
    logged and listed in `frame.attrs["warnings"]` (the recorded snapshots are still returned).
    """
    desk = store or DeskStore()
    account_id = account_view(broker, store=desk)["account_id"]
    warnings: list[str] = []
    try:
        import_broker_history(broker, account_id, desk)
    except (BrokerError, EngineError, TypeError, ValueError) as e:
        warnings.append(f"{broker.name}: portfolio history not imported: {type(e).__name__}: {e}")
        logger.warning(warnings[-1])
    frame = desk.history(broker.name, account_id)
    frame = frame.assign(drawdown=desk.drawdown(broker.name, account_id))
    frame.attrs["warnings"] = warnings
    return frame

"""The desk services both front ends use (the Desk page and `ivybt positions|orders|account`): read the account,
positions and orders of a broker, cancel orders, and keep the account's equity history.

Every account read here is snapshotted into the workspace database (engine.ops.desk_store: equity, cash, gross /
net exposure), so the equity history and the day P&L (against the previous session's last snapshot) build up
as the desk is used. Cancels are audited (engine.ops.audit_log, kind "order"). The numbers themselves are
computed by engine.ops.desk (pure, broker-independent). Money in the account currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

import pandas as pd

from brokers.base import Broker, OrderRejected, OrderStatus, check_order_query, retry
from brokers.services import Origin
from engine.data import load_market_data
from engine.errors import ConfigError, EngineError
from engine.ops.audit_log import AuditLog
from engine.ops.desk import account_summary as summarize
from engine.ops.desk import filter_orders, orders_frame, positions_frame, previous_session_equity
from engine.ops.desk import previous_closes as closes_before_today
from engine.ops.desk_store import DeskStore
from engine.ops.signals import generate_signals
from engine.store.presets import load_preset

SIDES_FILTER: tuple[str, ...] = ("buy", "sell")


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
    return out


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


def equity_history(broker: Broker, store: DeskStore | None = None) -> pd.DataFrame:
    """The account's snapshots (equity, cash, gross / net exposure) with their drawdown (fraction <= 0).

    Reads the account once (which adds today's snapshot) to know which account's history to show.
    """
    desk = store or DeskStore()
    account_id = account_view(broker, store=desk)["account_id"]
    frame = desk.history(broker.name, account_id)
    return frame.assign(drawdown=desk.drawdown(broker.name, account_id))

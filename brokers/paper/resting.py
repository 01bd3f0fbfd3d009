"""Resting stop / stop-limit / trailing-stop orders and bracket / OCO exit pairs of the paper broker.

Each resting order remembers the last bar it was walked to (`last_bar`, the symbol's latest bar when it came to
life). `advance` walks the bars since then with brokers.paper.triggers (the backtest's gap-aware rule) and fills a
hit through the ledger at the hit price with the market-fill costs; otherwise it saves the trailing mark, the
armed stop-limit flag and the new last bar. An exit pair (a bracket's take-profit and stop-loss legs once the
entry filled, or an OCO's limit parent and stop leg) walks as one Watch(stop, limit): one leg filling cancels
the other. Every group is one write transaction that re-reads its rows, so nothing fills twice.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pandas as pd

from brokers.base import OrderRejected, OrderRequest, PriceUnavailable
from brokers.paper.ledger import OPEN_STATES, now_iso, try_fill
from brokers.paper.prices import BarSource
from brokers.paper.triggers import Hit, Watch, walk
from engine.config import Costs
from engine.orders.rules import is_price

RESTING_TYPES = ("stop", "stop_limit", "trailing_stop")
RESTING_SQL = (
    "SELECT * FROM paper_orders WHERE status IN ('new', 'partially_filled') AND "
    "(type IN ('stop', 'stop_limit', 'trailing_stop') OR parent_id != '' OR order_class = 'oco') "
    "ORDER BY submitted_at, rowid"
)


def groups(rows: list[sqlite3.Row]) -> Iterator[list[sqlite3.Row]]:
    """The walk groups: one simple resting order, or the open legs of one exit pair (keyed by parent)."""
    pairs: dict[str, list[sqlite3.Row]] = {}
    for r in rows:
        if r["parent_id"]:
            pairs.setdefault(r["parent_id"], []).append(r)
        elif r["order_class"] == "oco":
            pairs.setdefault(r["id"], []).append(r)
        else:
            yield [r]
    yield from pairs.values()


def watch_of(group: list[sqlite3.Row]) -> Watch:
    """The Watch of a group: a single stop-type order as itself, a pair as its stop leg + its limit leg."""
    if len(group) == 1 and group[0]["type"] in RESTING_TYPES:
        r = group[0]
        return Watch(
            side=r["side"],
            stop=r["stop_price"],
            limit=r["limit_price"] if r["type"] == "stop_limit" else None,
            trail_percent=r["trail_percent"],
            trail_price=r["trail_price"],
            extreme=r["trail_extreme"],
            stop_limit=r["type"] == "stop_limit",
            triggered=bool(r["triggered"]),
        )
    stop = next((r["stop_price"] for r in group if r["type"] == "stop"), None)
    limit = next((r["limit_price"] for r in group if r["type"] == "limit"), None)
    return Watch(side=group[0]["side"], stop=stop, limit=limit)


def advance(
    tx: Callable[[], AbstractContextManager[sqlite3.Connection]],
    rows: list[sqlite3.Row],
    bar_source: BarSource,
    costs: Costs,
    shorting: bool,
) -> None:
    """Walk every resting group in `rows` over the bars after its last bar; fill hits, save the rest."""
    bars: dict[str, pd.DataFrame] = {}
    for group in groups(rows):
        with tx() as db:
            ids = [r["id"] for r in group]
            fresh = [db.execute("SELECT * FROM paper_orders WHERE id = ?", (i,)).fetchone() for i in ids]
            if any(
                f is None or f["status"] not in OPEN_STATES or f["last_bar"] != r["last_bar"]
                for f, r in zip(fresh, group, strict=True)
            ):
                continue  # another call moved it meanwhile
            if fresh[0]["parent_id"]:
                parent = db.execute("SELECT status FROM paper_orders WHERE id = ?", (fresh[0]["parent_id"],)).fetchone()
                if parent is not None and parent["status"] in ("canceled", "rejected", "expired"):
                    cancel_group(db, fresh, f"entry {parent['status']}")
                    continue
            if fresh[0]["last_bar"] is None:
                continue  # a bracket leg whose entry has not filled yet
            sym = fresh[0]["symbol"]
            if sym not in bars:
                try:
                    bars[sym] = bar_source(sym)
                except PriceUnavailable:
                    bars[sym] = pd.DataFrame()  # no bars now: the orders keep resting, nothing fills
            if bars[sym].empty:
                continue
            todo = bars[sym][bars[sym].index > pd.Timestamp(fresh[0]["last_bar"])]
            if todo.empty:
                continue
            got = walk(watch_of(fresh), todo)
            now = now_iso()
            if isinstance(got, Hit):
                _fill(db, fresh, got, costs, shorting, now)
            else:
                for r in fresh:
                    db.execute(
                        "UPDATE paper_orders SET trail_extreme=?, triggered=?, last_bar=?, updated_at=? WHERE id=?",
                        (got.extreme, int(got.triggered), str(todo.index[-1]), now, r["id"]),
                    )


def _fill(db: sqlite3.Connection, group: list[sqlite3.Row], hit: Hit, costs: Costs, shorting: bool, now: str) -> None:
    if len(group) == 1:
        winner = group[0]
    else:
        want = ("stop",) if hit.leg == "stop" else ("limit",)
        winner = next(r for r in group if r["type"] in want)
    try:
        try_fill(
            db,
            costs,
            shorting,
            winner["id"],
            winner["symbol"],
            winner["side"],
            winner["quantity"],
            "market",
            None,
            winner["time_in_force"],
            winner["client_order_id"],
            hit.price,
            now,
        )
        db.execute(
            "UPDATE paper_orders SET last_bar=?, reason=? WHERE id=?",
            (str(hit.time), f"{hit.leg} hit on bar {hit.time} at {hit.price:.6g}", winner["id"]),
        )
    except OrderRejected as e:
        db.execute(
            "UPDATE paper_orders SET status='rejected', reason=?, updated_at=? WHERE id=?", (str(e), now, winner["id"])
        )
    others = [r for r in group if r["id"] != winner["id"]]
    cancel_group(db, others, f"OCO: {winner['client_order_id']} {hit.leg} leg hit on bar {hit.time}")


def cancel_group(db: sqlite3.Connection, rows: list[sqlite3.Row], reason: str) -> None:
    for r in rows:
        db.execute(
            "UPDATE paper_orders SET status='canceled', reason=?, updated_at=? WHERE id=? "
            "AND status IN ('new', 'partially_filled')",
            (reason, now_iso(), r["id"]),
        )


def activate_legs(db: sqlite3.Connection, entry_id: str, last_bar: str) -> None:
    """A bracket entry filled: its legs start walking from the bar after `last_bar`."""
    db.execute("UPDATE paper_orders SET last_bar=? WHERE parent_id=? AND last_bar IS NULL", (last_bar, entry_id))


def _insert(db: sqlite3.Connection, **cols: object) -> None:
    names = ", ".join(cols)
    db.execute(f"INSERT INTO paper_orders ({names}) VALUES ({', '.join('?' * len(cols))})", tuple(cols.values()))


def place(
    db: sqlite3.Connection,
    order: OrderRequest,
    price: float,
    last_bar: str | None,
    now: str,
    costs: Costs,
    shorting: bool,
) -> str:
    """Insert `order` (and a bracket's / OCO's legs) in the caller's transaction; fill a market / marketable limit
    entry at `price`. A stop-type order or an OCO rests from the bar after `last_bar`. Returns the order id."""
    oid = uuid.uuid4().hex
    walks = order.type in RESTING_TYPES or order.order_class == "oco"
    base = dict(symbol=order.symbol, quantity=float(order.quantity), time_in_force=order.time_in_force, status="new")
    base |= dict(submitted_at=now, updated_at=now, order_class=order.order_class)
    _insert(
        db, id=oid, client_order_id=order.client_order_id, side=order.side, type=order.type,
        limit_price=order.limit_price, stop_price=order.stop_price, trail_percent=order.trail_percent,
        trail_price=order.trail_price, trail_extreme=price if order.type == "trailing_stop" else None,
        last_bar=last_bar if walks else None, **base,
    )  # fmt: skip
    exit_side = order.side if order.order_class == "oco" else ("sell" if order.side == "buy" else "buy")
    if order.order_class == "bracket":
        _insert(db, id=uuid.uuid4().hex, client_order_id=order.client_order_id + "/tp", side=exit_side,
                type="limit", limit_price=order.take_profit, parent_id=oid, **base)  # fmt: skip
    if order.order_class in ("bracket", "oco"):
        _insert(db, id=uuid.uuid4().hex, client_order_id=order.client_order_id + "/sl", side=exit_side,
                type="stop", stop_price=order.stop_loss, parent_id=oid,
                last_bar=last_bar if walks else None, **base)  # fmt: skip
    if not walks:
        try_fill(db, costs, shorting, oid, order.symbol, order.side, float(order.quantity), order.type,
                 order.limit_price, order.time_in_force, order.client_order_id, price, now)  # fmt: skip
        status = db.execute("SELECT status FROM paper_orders WHERE id = ?", (oid,)).fetchone()["status"]
        legs = db.execute("SELECT * FROM paper_orders WHERE parent_id = ?", (oid,)).fetchall()
        if status == "filled" and last_bar is not None:
            activate_legs(db, oid, last_bar)
        elif status not in OPEN_STATES:
            cancel_group(db, legs, f"entry {status}")
    return oid


def replace_row(
    db: sqlite3.Connection,
    order_id: str,
    quantity: float | None,
    limit_price: float | None,
    stop_price: float | None,
    trail: float | None,
) -> sqlite3.Row:
    """Modify a resting order in place (None = unchanged); OrderRejected names a final order or a wrong value."""
    row = db.execute("SELECT * FROM paper_orders WHERE id = ? OR client_order_id = ?", (order_id, order_id)).fetchone()
    if row is None:
        raise OrderRejected(f"paper broker: no order {order_id!r} to replace")
    if row["status"] not in OPEN_STATES:
        raise OrderRejected(f"paper broker: order {order_id!r} is {row['status']}, not replaceable")
    trail_col = "trail_percent" if row["trail_percent"] is not None else "trail_price"
    changes = {"quantity": quantity, "limit_price": limit_price, "stop_price": stop_price, trail_col: trail}
    for name, value in changes.items():
        if value is None:
            continue
        if not is_price(value) or (name == "trail_percent" and value >= 100):
            raise OrderRejected(f"paper broker: replace {order_id!r}: {name} {value!r} must be a number > 0")
        if name != "quantity" and row[name] is None:
            raise OrderRejected(f"paper broker: replace {order_id!r}: a {row['type']} order has no {name}")
        db.execute(
            f"UPDATE paper_orders SET {name} = ?, updated_at = ? WHERE id = ?", (float(value), now_iso(), row["id"])
        )
    return db.execute("SELECT * FROM paper_orders WHERE id = ?", (row["id"],)).fetchone()

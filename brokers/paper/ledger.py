"""The paper account's bookkeeping: fill one order inside the caller's transaction (cash, position, fill row,
order row) with the backtest's fill model, and turn order rows into the Broker protocol's records.

A fill moves the reference price against the trader by `costs.slippage_bps` and pays `costs.commission_bps` of
the notional (at least `costs.min_commission`), as engine/sim/costs.py does for the backtest.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

from brokers.base import InsufficientFunds, InvalidOrder, OrderAck, OrderRejected, OrderStatus
from engine.config import Costs
from engine.orders.instruments import multiplier_of
from engine.sim.costs import commission, fill_price

EPS = 1e-9
OPEN_STATES = ("new", "partially_filled")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _get(r: sqlite3.Row, key: str, default: object = None) -> object:
    return r[key] if key in r.keys() else default


def status_of(r: sqlite3.Row, legs: tuple[str, ...] = ()) -> OrderStatus:
    """The OrderStatus of an order row (a fill is its last update)."""
    filled_at = ts(r["updated_at"]) if r["filled_quantity"] > 0 else None
    return OrderStatus(
        id=r["id"],
        client_order_id=r["client_order_id"],
        symbol=r["symbol"],
        side=r["side"],
        quantity=r["quantity"],
        filled_quantity=r["filled_quantity"],
        avg_fill_price=r["avg_fill_price"],
        status=r["status"],
        reason=r["reason"],
        type=r["type"],
        limit_price=r["limit_price"],
        submitted_at=ts(r["submitted_at"]),
        filled_at=filled_at,
        stop_price=_get(r, "stop_price"),  # type: ignore[arg-type]
        trail_percent=_get(r, "trail_percent"),  # type: ignore[arg-type]
        trail_price=_get(r, "trail_price"),  # type: ignore[arg-type]
        order_class=str(_get(r, "order_class", "simple") or "simple"),
        parent_id=str(_get(r, "parent_id", "") or ""),
        legs=legs,
        time_in_force=str(r["time_in_force"]),
    )


def ack_of(r: sqlite3.Row, duplicate: bool) -> OrderAck:
    return OrderAck(
        id=r["id"],
        client_order_id=r["client_order_id"],
        symbol=r["symbol"],
        side=r["side"],
        quantity=r["quantity"],
        status=r["status"],
        submitted_at=ts(r["submitted_at"]),
        duplicate=duplicate,
    )


def try_fill(
    db: sqlite3.Connection,
    costs: Costs,
    shorting: bool,
    oid: str,
    symbol: str,
    side: str,
    qty: float,
    otype: str,
    limit: float | None,
    tif: str,
    cid: str,
    price: float,
    now: str,
) -> None:
    """Fill order `oid` inside the caller's transaction if it is marketable; update cash and position.

    `otype` "limit" checks the slipped price against `limit` (a non-marketable ioc/fok order is canceled, any
    other rests); every other type fills at `price` moved by the slippage. An option (OCC symbol) moves cash by
    price x contracts x its multiplier and pays commission on that notional.
    """
    signed = qty if side == "buy" else -qty
    mult = multiplier_of(symbol)  # an option's premium is per share: money is price x contracts x multiplier
    px = fill_price(price, signed, costs)
    if otype == "limit":
        if limit is None:
            raise InvalidOrder(f"paper broker: limit order {cid} has no limit price (limit_price {limit!r})")
        if (side == "buy" and px > limit + EPS) or (side == "sell" and px < limit - EPS):
            if tif in ("ioc", "fok"):
                db.execute(
                    "UPDATE paper_orders SET status='canceled', reason=?, updated_at=? WHERE id=?",
                    (f"limit {limit} not marketable at {px:.6g} ({tif})", now, oid),
                )
            return
    fee = commission(qty * mult, px, costs)
    cash = db.execute("SELECT cash FROM paper_account WHERE id = 1").fetchone()["cash"]
    pos = db.execute("SELECT quantity FROM paper_positions WHERE symbol = ?", (symbol,)).fetchone()
    held = pos["quantity"] if pos else 0.0
    if side == "buy":
        cost = qty * px * mult + fee
        if cost > cash + EPS:
            raise InsufficientFunds(
                f"paper broker: buy {qty:g} {symbol} at {px:.6g} needs {cost:,.2f} "
                f"(incl. commission {fee:,.2f}) but cash is {cash:,.2f}"
            )
    elif not shorting and qty > held + EPS:
        raise OrderRejected(f"paper broker: sell {qty:g} {symbol} exceeds the position {held:g} (shorting is off)")
    new_cash = cash - signed * px * mult - fee
    book_position(db, symbol, signed, px)
    db.execute("UPDATE paper_account SET cash = ? WHERE id = 1", (new_cash,))
    db.execute(
        "INSERT INTO paper_fills VALUES (?,?,?,?,?,?,?,?,?,?)",
        (uuid.uuid4().hex, oid, cid, symbol, side, qty, px, price, fee, now),
    )
    db.execute(
        "UPDATE paper_orders SET status='filled', filled_quantity=?, avg_fill_price=?, updated_at=? WHERE id=?",
        (qty, px, now, oid),
    )


def book_position(db: sqlite3.Connection, symbol: str, signed: float, px: float) -> None:
    """Add `signed` units bought (> 0) or sold (< 0) at `px` to the position of `symbol` (its average cost: set when
    opened or flipped through zero, blended when added to, kept when reduced); a position reaching 0 is removed."""
    pos = db.execute("SELECT quantity, avg_price FROM paper_positions WHERE symbol = ?", (symbol,)).fetchone()
    held, avg = (pos["quantity"], pos["avg_price"]) if pos else (0.0, 0.0)
    new_qty = held + signed
    if abs(new_qty) <= EPS:
        db.execute("DELETE FROM paper_positions WHERE symbol = ?", (symbol,))
        return
    if held == 0 or (held > 0) != (new_qty > 0):
        new_avg = px  # opened, or flipped through zero: the remainder was bought/sold at px
    elif abs(new_qty) > abs(held):
        new_avg = (held * avg + signed * px) / new_qty  # added to the position
    else:
        new_avg = avg  # reduced: the average cost of what is left does not change
    db.execute(
        "INSERT INTO paper_positions (symbol, quantity, avg_price) VALUES (?,?,?) "
        "ON CONFLICT(symbol) DO UPDATE SET quantity=excluded.quantity, avg_price=excluded.avg_price",
        (symbol, new_qty, new_avg),
    )

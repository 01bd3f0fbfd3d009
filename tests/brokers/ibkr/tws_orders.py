"""`OrderBook`: what the fake TWS does with the orders it is sent (a mixin of FakeTwsServer, which holds the state).

Behaviour, after the TWS API documentation (orders, bracket orders, OCA groups, modifying orders):

* placeOrder of MKT, LMT, STP (auxPrice = stop), STP LMT (lmtPrice + auxPrice) and TRAIL (auxPrice = trail
  amount, or trailingPercent; trailStopPrice = the initial stop when given). Error 200 for an unknown symbol,
  201 for ``reject[symbol]`` and for a top-level buy beyond the cash (IB's margin check).
* transmit: an order sent with transmit=False is held: not working and not reported (it was never
  transmitted) until an order of its family (its parent, or a child of the same parent) arrives with
  transmit=True; then the whole family goes out. A disconnect drops the session's held orders.
* parent / child: a child waits (PreSubmitted) until its parent fills, then works (Submitted). Cancelling a
  parent cancels its children. The children of one parent are one implicit OCA group (a fill reduces the
  others, cancelled at zero: IB's bracket behaviour).
* OCA groups: ocaType 1 cancels the group's other orders on a fill; 2 and 3 reduce them by the quantity
  filled (cancelled at zero). A cancel is reported as orderStatus Cancelled, a reduction as openOrder +
  orderStatus with the new size.
* placeOrder with the orderId of one of the client's orders = modify: quantity, prices, trail, time in force;
  answered with openOrder + orderStatus (status unchanged); a final order gets error 104.
* time in force IOC / FOK: what does not fill when the order is transmitted is cancelled.
* ``trade(symbol, price)`` moves the last price and walks the symbol's working orders: a limit fills when
  marketable, a stop triggers at or through its stop (a sell at or below, a buy at or above) and fills, a stop
  limit then works as its limit, a trailing stop's stop follows the high (sell) or the low (buy) by its amount
  or percent and only ratchets. Fills are at the last price. ``partial[symbol] = f`` fills floor(f x quantity)
  of an order's first fill and leaves the rest unfilled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.brokers.ibkr.tws_messages import (
    UNSET_DOUBLE,
    completed_order,
    exec_details,
    multiplier_of,
    open_order,
    order_status,
    parse_place_order,
)

FINAL = ("Filled", "Cancelled")
WORKING = ("Submitted", "PreSubmitted")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d %H:%M:%S UTC")


def _marketable(o: dict[str, Any], price: float) -> bool:
    return price <= o["lmt"] if o["action"] == "BUY" else price >= o["lmt"]


def _through(o: dict[str, Any], stop: float, price: float) -> bool:
    return price >= stop if o["action"] == "BUY" else price <= stop


class OrderBook:
    """The order handling of FakeTwsServer (see module docstring). Call everything with `self.lock` held."""

    # state and helpers FakeTwsServer provides
    lock: Any
    account: str
    cash: float
    prices: dict[str, float]
    con_ids: dict[str, int]
    reject: dict[str, str]
    partial: dict[str, float]
    drop_on_order: int | None
    positions: dict[str, list[float]]
    orders: dict[int, dict[str, Any]]
    executions: list[dict[str, Any]]
    place_order_msgs: int
    orders_created: int
    next_order_id: int
    commission_per_share: float
    min_commission: float
    _perm: int
    _conns: dict[int, dict]

    _send: Callable[..., None]  # (conn, *fields)
    _contract: Callable[[str], list[Any]]
    _position: Callable[[dict, str], None]
    _account_updates: Callable[[dict], None]

    # ------------------------------------------------------------------ test hook
    def trade(self, symbol: str, price: float) -> None:
        """The market trades `symbol` at `price`: the last price moves and the working orders are walked."""
        with self.lock:
            self.prices[symbol] = float(price)
            self._walk(symbol)

    def _px(self, key: str) -> float:
        """Money per unit of `key` at its last price (an option: premium x multiplier)."""
        return self.prices[key] * multiplier_of(self._contract(key))

    # ------------------------------------------------------------------ placeOrder
    def _place_order(self, conn: dict, f: list[str]) -> bool:
        self.place_order_msgs += 1
        drop = self.drop_on_order is not None and self.place_order_msgs == self.drop_on_order
        if drop and self._conns.get(conn["client_id"]) is conn:
            del self._conns[conn["client_id"]]  # processed, but the client never hears about it
        p = parse_place_order(f)
        oid = p["order_id"]
        self.next_order_id = max(self.next_order_id, oid + 1)
        known = self._find(conn["client_id"], oid)
        if known is not None:
            self._modify(conn, known, p)
        elif self._refused(conn, p):
            pass
        else:
            self._perm += 1
            o = {k: p[k] for k in ("order_id", "symbol", "action", "qty", "type", "lmt", "aux", "tif", "ref")}
            o |= {k: p[k] for k in ("oca_group", "oca_type", "parent_id", "trail_stop", "trail_pct")}
            o |= {"perm_id": self._perm, "client_id": conn["client_id"], "session": conn["session"]}
            o |= {"status": "Held", "held": True, "filled": 0.0, "avg": 0.0, "done_at": "", "extreme": None}
            o |= {"triggered": False, "stuck": False}
            self.orders[o["perm_id"]] = o
            if p["transmit"]:
                self._transmit(o)
        return not drop

    def _refused(self, conn: dict, p: dict[str, Any]) -> bool:
        """Send IB's error for an order TWS would not take; True if it was refused."""
        oid, sym, qty = p["order_id"], p["symbol"], p["qty"]
        why = ""
        if sym not in self.con_ids:
            self._send(conn, 4, 2, oid, 200, "No security definition has been found for the request", "")
            return True
        if p["parent_id"] and self._find(conn["client_id"], p["parent_id"]) is None:
            self._send(conn, 4, 2, oid, 135, f"Can't find order with id ={p['parent_id']}", "")
            return True
        if sym in self.reject:
            why = self.reject[sym]
        elif p["action"] == "BUY" and not p["parent_id"] and not p["oca_group"] and qty * self._px(sym) > self.cash:
            why = (
                "YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE "
                f"[{self.cash:.2f} USD] MUST EXCEED THE INITIAL MARGIN [{qty * self._px(sym):.2f} USD]"
            )
        if why:
            self._send(conn, 4, 2, oid, 201, f"Order rejected - reason:{why}", "")
        return bool(why)

    def _find(self, client_id: int, order_id: int) -> dict[str, Any] | None:
        found = [o for o in self.orders.values() if o["client_id"] == client_id and o["order_id"] == order_id]
        return found[-1] if found else None

    def _parent(self, o: dict[str, Any]) -> dict[str, Any] | None:
        return self._find(o["client_id"], o["parent_id"]) if o["parent_id"] else None

    def _children(self, o: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in self.orders.values() if c["client_id"] == o["client_id"] and c["parent_id"] == o["order_id"]]

    def _transmit(self, o: dict[str, Any]) -> None:
        """`o` arrived with transmit=True: it and its held family (parent first) start working."""
        parent = self._parent(o)
        top = parent if parent is not None else o
        family = [top, *sorted(self._children(top), key=lambda c: c["order_id"])]
        for m in family:
            if not m["held"]:
                continue
            m["held"] = False
            waiting = (p := self._parent(m)) is not None and p["status"] != "Filled"
            m["status"] = "PreSubmitted" if waiting else "Submitted"
            self.orders_created += 1
            if not waiting:
                self._arm(m)
            self._report(m)
        self._walk(o["symbol"])
        for m in family:  # immediate-or-cancel / fill-or-kill: what did not fill at once is cancelled
            if m["tif"] in ("IOC", "FOK") and m["status"] == "Submitted":
                self._cancel(m)

    def _arm(self, o: dict[str, Any]) -> None:
        """An order starts working at the last price: a trailing stop's extreme and stop start there."""
        if o["type"] == "TRAIL":
            o["extreme"] = self.prices[o["symbol"]]
            if o["trail_stop"] is None:
                o["trail_stop"] = self._trail_from(o, o["extreme"])

    @staticmethod
    def _trail_from(o: dict[str, Any], extreme: float) -> float:
        amount = o["aux"] if o["trail_pct"] is None else extreme * o["trail_pct"] / 100.0
        return round(extreme - amount if o["action"] == "SELL" else extreme + amount, 6)

    # ------------------------------------------------------------------ modify / cancel
    def _modify(self, conn: dict, o: dict[str, Any], p: dict[str, Any]) -> None:
        if o["status"] in FINAL:
            self._send(conn, 4, 2, o["order_id"], 104, f"Can't modify a {o['status'].lower()} order", "")
            return
        o["qty"], o["lmt"], o["aux"], o["tif"] = p["qty"], p["lmt"], p["aux"], p["tif"]
        o["trail_pct"] = p["trail_pct"]
        if o["type"] == "TRAIL" and o["extreme"] is not None:
            o["trail_stop"] = self._trail_from(o, o["extreme"])  # a new trail restarts from the extreme
        if o["held"]:
            if p["transmit"]:
                self._transmit(o)
            return
        self._report(o)
        self._walk(o["symbol"])

    def _cancel(self, o: dict[str, Any]) -> None:
        """Cancel a working order (and its children); a held order is simply dropped."""
        if o["held"]:
            self.orders.pop(o["perm_id"], None)
            return
        if o["status"] not in WORKING:
            return
        o["status"], o["done_at"] = "Cancelled", _now()
        self._to_owner(o, *order_status(o))
        for c in self._children(o):
            self._cancel(c)

    def _session_closed(self, session: int) -> None:
        """A connection closed: its held orders were never transmitted and are gone."""
        for o in [o for o in self.orders.values() if o["held"] and o["session"] == session]:
            self.orders.pop(o["perm_id"], None)

    # ------------------------------------------------------------------ the walk
    def _walk(self, sym: str) -> None:
        """Fill what the last price reaches, repeatedly (a fill can start children that fill at once)."""
        price = self.prices[sym]
        while True:
            for o in list(self.orders.values()):
                if o["symbol"] == sym and o["status"] == "Submitted" and not o["held"] and not o["stuck"]:
                    if self._reached(o, price):
                        remaining = o["qty"] - o["filled"]
                        qty = remaining
                        if sym in self.partial and not o["filled"]:
                            qty = float(math.floor(remaining * self.partial[sym]))
                            o["stuck"] = True
                        if qty > 0:
                            self._fill(o, qty, price)
                            break
            else:
                return

    def _reached(self, o: dict[str, Any], price: float) -> bool:
        """Does the last price `price` fill order `o` now? (Moves a trailing stop and arms a stop limit.)"""
        kind = o["type"]
        if kind == "MKT":
            return True
        if kind == "LMT":
            return _marketable(o, price)
        if kind == "STP":
            return _through(o, o["aux"], price)
        if kind == "STP LMT":
            o["triggered"] = o["triggered"] or _through(o, o["aux"], price)
            return o["triggered"] and _marketable(o, price)
        if kind == "TRAIL":
            sell = o["action"] == "SELL"
            if o["extreme"] is None or (price > o["extreme"] if sell else price < o["extreme"]):
                o["extreme"] = price
                moved = self._trail_from(o, price)
                o["trail_stop"] = max(o["trail_stop"], moved) if sell else min(o["trail_stop"], moved)
            return _through(o, o["trail_stop"], price)
        raise ValueError(f"fake TWS: order type {kind!r} is not simulated")

    def _fill(self, o: dict[str, Any], qty: float, price: float) -> None:
        self._execute(o, qty, price)
        ex = self.executions[-1]
        conn = self._conns.get(o["client_id"])
        if conn is not None:
            self._send(conn, *exec_details(ex, -1, self._contract(o["symbol"]), self.account))
            self._send(conn, 59, 1, ex["exec_id"], ex["commission"], "USD", UNSET_DOUBLE, UNSET_DOUBLE, "")
            self._send(conn, *order_status(o))
            if o["status"] == "Filled":
                self._send(conn, *open_order(o, self._contract(o["symbol"]), self.account))
            self._position(conn, o["symbol"])
            if conn["acct_sub"]:
                self._account_updates(conn)
        self._after_fill(o, qty)

    def _after_fill(self, o: dict[str, Any], qty: float) -> None:
        """OCA: cancel (type 1) or reduce (2, 3; a bracket's children) the rest; a filled parent starts its children."""
        if o["oca_group"]:
            group = [m for m in self.orders.values() if m["oca_group"] == o["oca_group"]]
            reduce = o["oca_type"] in (2, 3)
        elif o["parent_id"]:
            group = [m for m in self.orders.values() if self._parent(m) is self._parent(o)]
            reduce = True
        else:
            group = []
            reduce = False
        for m in group:
            if m is o or m["status"] not in WORKING or m["held"]:
                continue
            if not reduce or m["qty"] - qty <= m["filled"]:
                self._cancel(m)
            else:
                m["qty"] -= qty
                self._report(m)
        if o["status"] == "Filled":
            for c in self._children(o):
                if c["status"] == "PreSubmitted":
                    c["status"] = "Submitted"
                    self._arm(c)
                    self._to_owner(c, *order_status(c))

    def _execute(self, o: dict[str, Any], qty: float, price: float) -> None:
        """Book a fill: position (average cost with the commission), cash, the order and an execution."""
        sign = 1.0 if o["action"] == "BUY" else -1.0
        fee = max(self.min_commission, self.commission_per_share * qty)
        price_unit = price * multiplier_of(self._contract(o["symbol"]))  # an option's premium x 100 per contract
        q, avg = self.positions.get(o["symbol"], [0.0, 0.0])
        new = q + sign * qty
        if abs(new) < 1e-12:
            self.positions.pop(o["symbol"], None)
        else:
            if q == 0 or (q > 0) != (new > 0):
                avg = price_unit + sign * fee / qty
            elif abs(new) > abs(q):
                avg = (q * avg + sign * qty * price_unit + fee) / new
            self.positions[o["symbol"]] = [new, avg]
        self.cash -= sign * qty * price_unit + fee
        o["avg"] = (o["avg"] * o["filled"] + price * qty) / (o["filled"] + qty)
        o["filled"] += qty
        o["status"] = "Filled" if o["filled"] >= o["qty"] else "Submitted"
        if o["status"] == "Filled":
            o["done_at"] = _now()
        n = len(self.executions) + 1
        self.executions.append(
            {
                "order": o,
                "exec_id": f"0000f00d.{n:08d}.01.01",
                "shares": qty,
                "price": price,
                "cum": o["filled"],
                "commission": fee,
                "time": _now(),
            }
        )

    # ------------------------------------------------------------------ messages to the order's owner
    def _to_owner(self, o: dict[str, Any], *fields: Any) -> None:
        conn = self._conns.get(o["client_id"])
        if conn is not None:
            self._send(conn, *fields)

    def _report(self, o: dict[str, Any]) -> None:
        """openOrder + orderStatus of `o` to the client that placed it (if connected)."""
        self._to_owner(o, *open_order(o, self._contract(o["symbol"]), self.account))
        self._to_owner(o, *order_status(o))

    def _open_orders(self, conn: dict, all_clients: bool) -> None:
        """Answer reqOpenOrders / reqAllOpenOrders: the working orders (held ones were never transmitted)."""
        for o in self.orders.values():
            if o["status"] in WORKING and not o["held"] and (all_clients or o["client_id"] == conn["client_id"]):
                self._send(conn, *open_order(o, self._contract(o["symbol"]), self.account))
                self._send(conn, *order_status(o))
        self._send(conn, 53, 1)

    def _completed_orders(self, conn: dict) -> None:
        for o in self.orders.values():
            if o["status"] in FINAL:
                self._send(conn, *completed_order(o, self._contract(o["symbol"]), self.account))
        self._send(conn, 102)

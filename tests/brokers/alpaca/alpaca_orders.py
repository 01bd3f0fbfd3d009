"""The order book of `FakeAlpacaServer`: Alpaca's order rules, legs, triggers, replace and cancel.

Modelled on Alpaca's documented trading API (docs.alpaca.markets "Orders at Alpaca", "Replace Order by ID"):

* types market, limit, stop, stop_limit, trailing_stop (``trail_percent`` or ``trail_price``, time in force day
  or gtc); fractional quantities only on simple market / limit day orders of a fractionable asset.
* ``order_class`` "bracket": an entry (market or limit, day or gtc, whole shares) with ``take_profit.limit_price``
  and ``stop_loss.stop_price`` (+ ``limit_price`` for a stop-limit) on the right side of the base price (the entry
  limit, else the last price) by at least 0.01. Its two legs (opposite side) are "held" until the entry fills;
  then the take-profit is "new" and the stop-loss stays "held" (the passive leg) but triggers all the same.
* ``order_class`` "oco": an exit only (a sell needs a long position, a buy a short one), type limit, whose parent
  IS the take-profit limit (``take_profit.limit_price``) and whose one leg is the stop (held, passive).
* When a member of a bracket / OCO pair fills, the other exit is canceled; canceling any member cancels the group.
* PATCH /v2/orders/{id} creates a new order (``replaces`` = old id) and marks the old one "replaced"
  (``replaced_by``); a filled / canceled order answers 422, a field the order type lacks answers 422.
* ``nested=true`` lists groups with legs under "legs" (a group matches the status filter when any member does,
  or with ``nested_filter = "parent"`` when its parent does); ``nested=false`` lists every order flat.
  Single-order answers always carry their legs.
* ``trade(symbol, price)`` (test hook) moves the last price and works every active order of the symbol: limits
  fill when marketable, stops trigger, a trailing stop's high-water mark follows the high (sell) / low (buy).
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from engine.options.occ import is_occ_symbol

CONTRACT_SIZE = 100  # an option contract (OCC symbol) is 100 shares


def multiplier(symbol: str) -> int:
    return CONTRACT_SIZE if is_occ_symbol(symbol) else 1


def asset_class(symbol: str) -> str:
    return "us_option" if is_occ_symbol(symbol) else "us_equity"


OPEN = {"new", "partially_filled", "accepted", "pending_new", "held"}
REPLACEABLE = {"new", "partially_filled", "held"}
TYPES = ("market", "limit", "stop", "stop_limit", "trailing_stop")
HAS_FIELD = {  # which price fields each order type carries (for replace)
    "limit_price": ("limit", "stop_limit"),
    "stop_price": ("stop", "stop_limit"),
    "trail": ("trailing_stop",),
}


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def num(x: float) -> str:
    """Alpaca sends decimals as strings."""
    return repr(round(float(x), 9))


def _opt(x: float | None) -> str | None:
    return None if x is None else num(x)


def _price(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    return None if value is None else float(value)


class Refused(Exception):
    """An order request the service refuses: (HTTP status, Alpaca error code, message)."""

    def __init__(self, status: int, message: str, code: int = 42210000) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class OrderBook:
    """Mixin of FakeAlpacaServer: `orders` (dicts), `prices`, `positions`, `cash` live on the server."""

    orders: list[dict[str, Any]]
    prices: dict[str, float]
    positions: dict[str, dict[str, float]]
    cash: float
    partial: dict[str, float]
    not_fractionable: set[str]
    asset_ids: dict[str, str]
    nested_filter: str  # "group": a nested group matches when any member does; "parent": only its parent counts

    # ------------------------------------------------------------------ lookups
    def find(self, oid: str) -> dict[str, Any] | None:
        return next((o for o in self.orders if o["id"] == oid), None)

    def group(self, o: dict[str, Any]) -> list[dict[str, Any]]:
        """The parent of `o`'s bracket / OCO and its legs (just [o] for a simple order)."""
        top = self.find(o["parent"]) if o["parent"] else o
        assert top is not None
        return [top] + [leg for leg in (self.find(i) for i in top["legs"]) if leg is not None]

    def active(self, o: dict[str, Any]) -> bool:
        """Working at the venue: open, and not a bracket leg whose entry has not filled yet."""
        if o["status"] not in OPEN:
            return False
        parent = self.find(o["parent"]) if o["parent"] else None
        return parent is None or parent["order_class"] == "oco" or parent["status"] == "filled"

    # ------------------------------------------------------------------ JSON
    def order_json(self, o: dict[str, Any], legs: bool = True) -> dict[str, Any]:
        st = o["status"]
        return {
            "id": o["id"],
            "client_order_id": o["client_order_id"],
            "created_at": iso(o["created"]),
            "updated_at": iso(o["updated"]),
            "submitted_at": iso(o["created"]),
            "filled_at": iso(o["updated"]) if st == "filled" else None,
            "expired_at": None,
            "canceled_at": iso(o["updated"]) if st == "canceled" else None,
            "failed_at": None,
            "replaced_at": iso(o["updated"]) if st == "replaced" else None,
            "replaced_by": o["replaced_by"],
            "replaces": o["replaces"],
            "asset_id": self.asset_ids.get(o["symbol"], str(uuid.uuid5(uuid.NAMESPACE_DNS, o["symbol"]))),
            "symbol": o["symbol"],
            "asset_class": asset_class(o["symbol"]),
            "notional": None,
            "qty": num(o["qty"]),
            "filled_qty": num(o["filled"]),
            "filled_avg_price": num(o["avg"]) if o["filled"] > 0 else None,
            "order_class": o["order_class"],
            "order_type": o["type"],
            "type": o["type"],
            "side": o["side"],
            "time_in_force": o["tif"],
            "limit_price": _opt(o["limit"]),
            "stop_price": _opt(o["stop"]),
            "status": st,
            "extended_hours": False,
            "legs": [self.order_json(leg, False) for leg in self.group(o)[1:]] if legs and o["legs"] else None,
            "trail_percent": _opt(o["trail_percent"]),
            "trail_price": _opt(o["trail_price"]),
            "hwm": _opt(o["hwm"]),
        }

    def list_orders(self, status: str, nested: bool, limit: int, newest_first: bool) -> list[dict[str, Any]]:
        def matches(o: dict[str, Any]) -> bool:
            return status == "all" or (o["status"] in OPEN) == (status == "open")

        if nested:
            members = (lambda o: self.group(o)) if self.nested_filter == "group" else (lambda o: [o])
            sel = [o for o in self.orders if not o["parent"] and any(matches(m) for m in members(o))]
        else:
            sel = [o for o in self.orders if matches(o)]
        sel = sorted(sel, key=lambda o: o["created"], reverse=newest_first)
        return [self.order_json(o, legs=nested) for o in sel[:limit]]

    # ------------------------------------------------------------------ create
    def _new(self, body: dict[str, Any], **over: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        o = {
            "id": str(uuid.uuid4()),
            "client_order_id": body.get("client_order_id") or str(uuid.uuid4()),
            "symbol": body["symbol"],
            "side": body["side"],
            "type": body["type"],
            "tif": body["time_in_force"],
            "qty": float(body["qty"]),
            "limit": _price(body, "limit_price"),
            "stop": _price(body, "stop_price"),
            "trail_percent": _price(body, "trail_percent"),
            "trail_price": _price(body, "trail_price"),
            "hwm": None,
            "order_class": body.get("order_class") or "simple",
            "parent": None,
            "legs": [],
            "status": "new",
            "filled": 0.0,
            "avg": 0.0,
            "triggered": False,
            "replaced_by": None,
            "replaces": None,
            "created": now,
            "updated": now,
        }
        o.update(over)
        if o["type"] == "trailing_stop":
            o["hwm"] = self.prices[o["symbol"]]
            self._trail(o, self.prices[o["symbol"]])
        self.orders.append(o)
        return o

    def check_order(self, body: dict[str, Any]) -> float:
        """Alpaca's rules for a new order (see module docstring); the quantity, or Refused."""
        sym, otype, tif = body["symbol"], body["type"], body["time_in_force"]
        klass = body.get("order_class") or "simple"
        try:
            qty = float(body["qty"])
        except (KeyError, TypeError, ValueError):
            raise Refused(422, "qty is required", 40010001) from None
        if not math.isfinite(qty) or qty <= 0:
            raise Refused(422, "qty must be > 0", 40010001)
        if otype not in TYPES:
            raise Refused(422, f"invalid order type {otype!r}", 40010001)
        if otype in ("limit", "stop_limit") and klass != "oco" and body.get("limit_price") is None:
            raise Refused(422, f"limit_price is required for {otype} orders")
        if otype in ("stop", "stop_limit") and body.get("stop_price") is None:
            raise Refused(422, f"stop_price is required for {otype} orders")
        if otype == "trailing_stop":
            if (body.get("trail_percent") is None) == (body.get("trail_price") is None):
                raise Refused(422, "trailing stop orders need exactly one of trail_percent and trail_price")
        if klass != "simple" or otype in ("stop", "stop_limit", "trailing_stop"):
            if tif not in ("day", "gtc"):
                raise Refused(422, f"{klass} {otype} orders must be day or gtc, got {tif}")
        if qty != int(qty):
            if sym in self.not_fractionable:
                raise Refused(422, f"asset {sym} is not fractionable")
            if klass != "simple" or otype not in ("market", "limit") or tif != "day":
                raise Refused(422, "fractional orders must be simple market or limit orders with time_in_force day")
        if klass == "bracket":
            self._check_bracket(body)
        elif klass == "oco":
            self._check_oco(body, qty)
        elif klass != "simple":
            raise Refused(422, f"invalid order_class {klass!r}", 40010001)
        return qty

    def _exits(self, body: dict[str, Any]) -> tuple[float, float]:
        tp = (body.get("take_profit") or {}).get("limit_price")
        sl = (body.get("stop_loss") or {}).get("stop_price")
        if tp is None:
            raise Refused(422, f"{body['order_class']} orders require take_profit.limit_price")
        if sl is None:
            raise Refused(422, f"{body['order_class']} orders require stop_loss.stop_price")
        return float(tp), float(sl)

    def _check_bracket(self, body: dict[str, Any]) -> None:
        if body["type"] not in ("market", "limit"):
            raise Refused(422, f"bracket entry must be market or limit, got {body['type']}")
        tp, sl = self._exits(body)
        base = float(body["limit_price"]) if body.get("limit_price") is not None else self.prices[body["symbol"]]
        up = body["side"] == "buy"  # a long's exits: take-profit above, stop below
        if (tp < base + 0.01) if up else (tp > base - 0.01):
            raise Refused(
                422, f"take_profit.limit_price must be {'>=' if up else '<='} base_price {'+' if up else '-'} 0.01"
            )
        if (sl > base - 0.01) if up else (sl < base + 0.01):
            raise Refused(
                422, f"stop_loss.stop_price must be {'<=' if up else '>='} base_price {'-' if up else '+'} 0.01"
            )

    def _check_oco(self, body: dict[str, Any], qty: float) -> None:
        if body["type"] != "limit":
            raise Refused(422, f"oco orders must be limit orders, got {body['type']}")
        tp, sl = self._exits(body)
        if body.get("limit_price") is not None and float(body["limit_price"]) != tp:
            raise Refused(422, "limit_price must equal take_profit.limit_price on an oco order")
        held = self.positions.get(body["symbol"], {}).get("qty", 0.0)
        if (held < qty - 1e-9) if body["side"] == "sell" else (-held < qty - 1e-9):
            raise Refused(422, "oco orders must be exit orders (only closing a position is supported)")
        if (tp <= sl) if body["side"] == "sell" else (tp >= sl):
            raise Refused(422, "take_profit.limit_price must be on the profit side of stop_loss.stop_price")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A checked order (and its legs) as it stands after Alpaca worked it at the current price."""
        klass = body.get("order_class") or "simple"
        if klass == "oco":
            body = {**body, "limit_price": body["take_profit"]["limit_price"]}
        o = self._new(body)
        if klass in ("bracket", "oco"):
            sl = body["stop_loss"]
            exit_side = body["side"] if klass == "oco" else ("sell" if body["side"] == "buy" else "buy")
            common = {"symbol": o["symbol"], "side": exit_side, "qty": o["qty"], "time_in_force": o["tif"]}
            stop_type = "stop_limit" if sl.get("limit_price") is not None else "stop"
            legs = []
            if klass == "bracket":
                tp = {**common, "type": "limit", "limit_price": body["take_profit"]["limit_price"]}
                legs.append(self._new(tp, order_class=klass, parent=o["id"], status="held"))
            stop = {**common, "type": stop_type, "stop_price": sl["stop_price"], "limit_price": sl.get("limit_price")}
            legs.append(self._new(stop, order_class=klass, parent=o["id"], status="held"))
            o["legs"] = [leg["id"] for leg in legs]
        frac = self.partial.get(o["symbol"])
        if o["type"] == "market" and frac is not None:
            self.fill(o, math.floor(o["qty"] * frac), self.prices[o["symbol"]])
            o["status"] = "partially_filled"
        else:
            self.work(o["symbol"])
        return o

    # ------------------------------------------------------------------ fills and triggers
    def fill(self, o: dict[str, Any], qty: float, price: float) -> None:
        sign = 1.0 if o["side"] == "buy" else -1.0
        pos = self.positions.setdefault(o["symbol"], {"qty": 0.0, "avg": 0.0})
        new = pos["qty"] + sign * qty
        if abs(new) < 1e-12:
            del self.positions[o["symbol"]]
        else:
            if pos["qty"] == 0 or (pos["qty"] > 0) != (new > 0):
                pos["avg"] = price
            elif abs(new) > abs(pos["qty"]):
                pos["avg"] = (pos["qty"] * pos["avg"] + sign * qty * price) / new
            pos["qty"] = new
        self.cash -= sign * qty * price * multiplier(o["symbol"])
        o["filled"], o["avg"], o["updated"] = qty, price, datetime.now(UTC)

    def _trail(self, o: dict[str, Any], price: float) -> None:
        """Move a trailing stop's high-water mark (sell: the high; buy: the low) and its stop price with it."""
        up = o["side"] == "sell"
        o["hwm"] = max(o["hwm"], price) if up else min(o["hwm"], price)
        if o["trail_percent"] is not None:
            pct = o["trail_percent"] / 100.0
            o["stop"] = round(o["hwm"] * (1 - pct if up else 1 + pct), 9)
        else:
            o["stop"] = round(o["hwm"] - o["trail_price"] if up else o["hwm"] + o["trail_price"], 9)

    def _fires(self, o: dict[str, Any], price: float) -> bool:
        buy = o["side"] == "buy"
        if o["type"] == "trailing_stop":
            self._trail(o, price)
        if o["type"] in ("stop", "stop_limit", "trailing_stop") and not o["triggered"]:
            o["triggered"] = price >= o["stop"] if buy else price <= o["stop"]
            if not o["triggered"]:
                return False
        if o["type"] in ("limit", "stop_limit"):
            return price <= o["limit"] if buy else price >= o["limit"]
        return True

    def work(self, symbol: str) -> None:
        """Work every active order of `symbol` at its last price until nothing more fills."""
        price = self.prices[symbol]
        changed = True
        while changed:
            changed = False
            for o in [o for o in self.orders if o["symbol"] == symbol and self.active(o)]:
                if o["status"] not in OPEN or not self._fires(o, price):
                    continue
                self.fill(o, o["qty"], price)
                o["status"] = "filled"
                changed = True
                if o["legs"] and o["order_class"] == "bracket":  # the entry filled: the exits work now
                    for leg in self.group(o)[1:]:
                        leg["status"] = "new" if leg["type"] == "limit" else "held"
                elif o["order_class"] in ("bracket", "oco"):  # one exit filled: cancel the other
                    self.cancel_group(o)

    def cancel_group(self, o: dict[str, Any]) -> None:
        """Cancel every open member of `o`'s group (a simple order: itself)."""
        now = datetime.now(UTC)
        for m in self.group(o):
            if m["status"] in OPEN:
                m["status"], m["updated"] = "canceled", now

    # ------------------------------------------------------------------ replace
    def replace(self, o: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /v2/orders/{id}: a new order with the changes, the old one "replaced"; or Refused."""
        if o["status"] not in REPLACEABLE:
            raise Refused(422, f'order is not replaceable: it is "{o["status"]}"')
        for key, types in HAS_FIELD.items():
            if body.get(key) is not None and o["type"] not in types:
                raise Refused(422, f"{o['type']} orders must not have {key}")
        changes: dict[str, Any] = {}
        if body.get("qty") is not None:
            qty = float(body["qty"])
            if qty <= 0 or qty != int(qty):
                raise Refused(422, f"qty must be a whole number of shares > 0, got {body['qty']}")
            changes["qty"] = qty
        for key, field in (("limit_price", "limit"), ("stop_price", "stop"), ("time_in_force", "tif")):
            if body.get(key) is not None:
                changes[field] = body[key] if key == "time_in_force" else float(body[key])
        if body.get("trail") is not None:
            changes["trail_percent" if o["trail_percent"] is not None else "trail_price"] = float(body["trail"])
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if any(x["client_order_id"] == cid for x in self.orders):
            raise Refused(422, "client_order_id must be unique", 40010001)
        now = datetime.now(UTC)
        new = {**o, **changes, "id": str(uuid.uuid4()), "client_order_id": cid, "replaces": o["id"]}
        new.update(replaced_by=None, created=now, updated=now, filled=0.0, avg=0.0, legs=list(o["legs"]))
        if new["status"] == "partially_filled":
            new["status"] = "new"
        self.orders.append(new)
        o.update(status="replaced", replaced_by=new["id"], updated=now)
        if o["parent"]:
            parent = self.find(o["parent"])
            assert parent is not None
            parent["legs"].append(new["id"])
        for leg in (self.find(i) for i in o["legs"]):
            if leg is not None:
                leg["parent"] = new["id"]  # a replaced parent hands its legs to the new order
        o["legs"] = []
        if new["type"] == "trailing_stop":
            self._trail(new, self.prices[new["symbol"]])
        self.work(new["symbol"])
        return new

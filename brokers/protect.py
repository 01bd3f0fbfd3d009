"""Protective orders from a preset's risk block (stop_loss / take_profit / trailing_stop, fractions of the entry
price): one exit order per position, kept at the position's size, cancelled when it closes, and a
reconciliation that lists what is wrong and repairs it.

What a position holds (entry = its avg_price; exit side: sell for a long, buy for a short; prices rounded to the
tick: 0.01 at $1 and above, 0.0001 below; time in force GTC):

- stop_loss d: a stop at entry x (1 - d) for a long, entry x (1 + d) for a short;
- take_profit d: a limit at entry x (1 + d) for a long, entry x (1 - d) for a short;
- both: ONE OCO order (the limit and the stop, one filling cancels the other). A venue without "oco" is refused
  (the plan's "protection" check fails before anything is sent): two unlinked exits could both fill;
- trailing_stop t: a trailing stop, trail_percent = 100 x t, held INSTEAD of a stop-loss and a take-profit set
  beside it (two unlinked exits could both fill, and an OCO pairs a limit with a fixed stop only). With
  t <= stop_loss the trailing level never falls below the fixed stop, which is the backtest's rule (the tighter
  of the two); with t > stop_loss the first loss can exceed the backtest's, and a take-profit is not held at all:
  the plan's check and the report say so (`notes`).

Placed after the entry fills, never as a bracket with the entry: that works on every venue, and a position built
over several plans keeps one protective order sized to the position instead of one bracket per entry.

Ids: "prot-" + 16 hex of SHA-256 over account, symbol, exit side and kind + "-<generation>", the first generation
the broker does not know: a retry finds the order it placed (submit is idempotent) and never sends it twice; the
next order after one filled or was cancelled gets the next generation. Protective orders are the open top-level
orders with this prefix (an OCO's stop leg carries its parent's id).

`protection_report` lists each position against what the preset wants and every protective order without a
position; brokers.protect_repair changes the orders at the broker (repair, release, protect_after) and
`protection_check` is the plan's check that the venue can hold them at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from brokers.base import (
    Broker,
    BrokerCapabilities,
    OrderRequest,
    OrderStatus,
    Position,
    retry,
)
from engine.config import Risk
from engine.ops.checks import FAIL, PASS, WARN, CheckResult
from engine.ops.rebalance import RebalancePlan
from engine.orders.rules import unsupported

PREFIX = "prot-"
EPS = 1e-6  # units and prices: equal within this
TIME_IN_FORCE = "gtc"
MAX_GENERATIONS = 10_000
STATUSES: tuple[str, ...] = ("ok", "missing", "wrong_size", "wrong_price", "wrong_side", "extra", "orphan", "refused")
ROW_COLUMNS: tuple[str, ...] = ("symbol", "position", "avg_price", "status", "action", "order", "want", "message")


def tick(price: float) -> float:
    """`price` rounded to the US equity tick: 0.01 at $1 and above, 0.0001 below."""
    return round(price, 2 if price >= 1.0 else 4)


def exit_side(quantity: float) -> str:
    """The side that closes a position of signed `quantity` (sell a long, buy a short)."""
    return "sell" if quantity > 0 else "buy"


def is_protective(order: OrderStatus) -> bool:
    """One of ours: a top-level order whose client_order_id has the "prot-" prefix (a leg has a parent id)."""
    return order.client_order_id.startswith(PREFIX) and not order.parent_id


def client_order_id(account_id: str, symbol: str, side: str, kind: str, generation: int) -> str:
    """The deterministic id of one protective order (see module docstring); 5 + 16 + 1 + digits <= 64 chars."""
    digest = hashlib.sha256(f"{account_id}|{symbol}|{side}|{kind}".encode()).hexdigest()[:16]
    return f"{PREFIX}{digest}-{generation}"


# ---------------------------------------------------------------------------------------------- what is wanted
@dataclass(frozen=True)
class Wanted:
    """The protective order a position should have. kind: "stop", "take_profit", "oco" or "trailing_stop";
    quantity > 0 units on the exit `side`; prices per unit (trail_percent in percent)."""

    symbol: str
    kind: str
    side: str
    quantity: float
    stop_price: float | None = None
    limit_price: float | None = None
    trail_percent: float | None = None

    def request(self, cid: str) -> OrderRequest:
        """The OrderRequest placing it under `cid`."""
        common: dict[str, Any] = dict(time_in_force=TIME_IN_FORCE, client_order_id=cid)
        if self.kind == "oco":
            common |= dict(order_class="oco", take_profit=self.limit_price, stop_loss=self.stop_price)
            return OrderRequest(self.symbol, self.quantity, self.side, "limit", self.limit_price, **common)
        if self.kind == "stop":
            return OrderRequest(self.symbol, self.quantity, self.side, "stop", stop_price=self.stop_price, **common)
        if self.kind == "take_profit":
            return OrderRequest(self.symbol, self.quantity, self.side, "limit", self.limit_price, **common)
        return OrderRequest(
            self.symbol, self.quantity, self.side, "trailing_stop", trail_percent=self.trail_percent, **common
        )

    def describe(self) -> str:
        prices = {
            "stop": f"stop {self.stop_price}",
            "take_profit": f"limit {self.limit_price}",
            "oco": f"OCO limit {self.limit_price} / stop {self.stop_price}",
            "trailing_stop": f"trailing stop {self.trail_percent} %",
        }[self.kind]
        return f"{prices} {self.side} {self.quantity:g} {self.symbol}"


def held_kind(risk: Risk) -> str | None:
    """The one order kind a position holds for `risk` (see module docstring), None when nothing is set."""
    if risk.trailing_stop is not None:
        return "trailing_stop"
    if risk.stop_loss is not None and risk.take_profit is not None:
        return "oco"
    if risk.stop_loss is not None:
        return "stop"
    return "take_profit" if risk.take_profit is not None else None


def notes(risk: Risk) -> tuple[str, ...]:
    """Where the held orders differ from the backtest's stops (empty when they do not)."""
    out = []
    t, sl = risk.trailing_stop, risk.stop_loss
    if t is not None and sl is not None and t > sl:
        out.append(
            f"trailing_stop {t:g} is held instead of the tighter stop_loss {sl:g}: until the trailing level passes "
            "the fixed stop, the first loss can be larger than in the backtest"
        )
    if t is not None and risk.take_profit is not None:
        out.append(
            f"take_profit {risk.take_profit:g} is not held at the broker: a take-profit cannot be linked to a "
            "trailing stop (an OCO pairs a limit with a fixed stop) and two unlinked exits could both fill"
        )
    return tuple(out)


def venue_problem(kind: str, caps: BrokerCapabilities, venue: str) -> str | None:
    """Why `venue` cannot hold a protective order of `kind`, or None."""
    needs = {"stop": [("stop", "simple")], "take_profit": [("limit", "simple")]}
    needs |= {"oco": [("limit", "oco"), ("stop", "oco")], "trailing_stop": [("trailing_stop", "simple")]}
    for order_type, order_class in needs[kind]:
        why = unsupported(order_type, order_class, caps.order_types, caps.order_classes)
        if why:
            return f"{venue} cannot hold a protective {kind} order: {why}"
    return None


def wanted(position: Position, risk: Risk) -> Wanted | str | None:
    """The protective order of `position` under `risk`, None when nothing is set, or why it cannot be placed."""
    kind = held_kind(risk)
    q = position.quantity
    if kind is None or abs(q) <= EPS:
        return None
    entry, long = position.avg_price, q > 0
    if not entry > 0:
        return f"{position.symbol}: avg_price {entry!r} is not a price: the protective prices are unknown"
    side, qty = exit_side(q), abs(q)
    stop = tick(entry * (1 - risk.stop_loss if long else 1 + risk.stop_loss)) if risk.stop_loss is not None else None
    tp = risk.take_profit
    limit = tick(entry * (1 + tp if long else 1 - tp)) if tp is not None else None
    if kind in ("oco", "take_profit") and limit is not None and not limit > 0:
        return f"{position.symbol}: take_profit {tp:g} of a short at {entry:g} gives a limit price {limit!r} <= 0"
    if kind == "trailing_stop":
        assert risk.trailing_stop is not None
        return Wanted(position.symbol, kind, side, qty, trail_percent=round(100 * risk.trailing_stop, 6))
    return Wanted(
        position.symbol, kind, side, qty, stop if kind != "take_profit" else None, limit if kind != "stop" else None
    )


def kind_of(order: OrderStatus) -> str:
    """The protective kind of an order as the broker reports it ("other" for anything else)."""
    if order.order_class == "oco":
        return "oco"
    if order.order_class == "simple" and order.type in ("stop", "trailing_stop"):
        return order.type
    return "take_profit" if order.order_class == "simple" and order.type == "limit" else "other"


# ---------------------------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class ProtectionRow:
    """One position or one protective order. status: one of STATUSES; action: "" (nothing), "place", "resize"
    (Broker.replace), "renew" (cancel, then place anew) or "cancel"."""

    symbol: str
    position: float
    avg_price: float | None
    status: str
    action: str
    message: str
    order: OrderStatus | None = None
    want: Wanted | None = None

    def record(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "position": self.position,
            "avg_price": self.avg_price,
            "status": self.status,
            "action": self.action,
            "order": self.order.client_order_id if self.order else "",
            "want": self.want.describe() if self.want else "",
            "message": self.message,
        }


@dataclass(frozen=True)
class ProtectionReport:
    """Positions (of the symbols asked) and protective orders (of every symbol) against what `risk` wants."""

    broker: str
    account_id: str
    rows: tuple[ProtectionRow, ...]
    notes: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[ProtectionRow, ...]:
        return tuple(r for r in self.rows if r.status != "ok")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.record() for r in self.rows], columns=list(ROW_COLUMNS))

    def summary(self) -> str:
        if not self.problems:
            return f"{self.broker} {self.account_id}: every position is protected as the preset says"
        counts = pd.Series([r.status for r in self.problems]).value_counts()
        return f"{self.broker} {self.account_id}: " + ", ".join(f"{n} {s}" for s, n in counts.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "account_id": self.account_id,
            "ok": not self.problems,
            "rows": [r.record() for r in self.rows],
            "notes": list(self.notes),
        }


def _stop_of(order: OrderStatus, legs: Mapping[str, list[OrderStatus]]) -> float | None:
    """A protective order's stop price: its own, or its OCO stop leg's."""
    if order.stop_price is not None:
        return order.stop_price
    return next((leg.stop_price for leg in legs.get(order.id, []) if leg.stop_price is not None), None)


def _compare(pos: Position, want: Wanted, order: OrderStatus, stop: float | None) -> ProtectionRow:
    """The row of a position whose protective order has the wanted kind and side."""
    wrong = []
    if want.stop_price is not None and (stop is None or abs(stop - want.stop_price) > EPS):
        wrong.append(f"stop {stop} instead of {want.stop_price}")
    if want.limit_price is not None and (order.limit_price is None or abs(order.limit_price - want.limit_price) > EPS):
        wrong.append(f"limit {order.limit_price} instead of {want.limit_price}")
    if want.trail_percent is not None and (
        order.trail_percent is None or abs(order.trail_percent - want.trail_percent) > EPS
    ):
        wrong.append(f"trail {order.trail_percent} % instead of {want.trail_percent:g} %")
    sized = abs(order.remaining - want.quantity) <= EPS
    if sized and not wrong:
        return ProtectionRow(pos.symbol, pos.quantity, pos.avg_price, "ok", "", want.describe(), order, want)
    if not sized:
        wrong.insert(0, f"quantity {order.remaining:g} instead of {want.quantity:g}")
    simple = order.order_class == "simple" and order.filled_quantity <= EPS
    return ProtectionRow(
        pos.symbol,
        pos.quantity,
        pos.avg_price,
        "wrong_price" if sized else "wrong_size",
        "resize" if simple else "renew",
        f"{order.client_order_id}: " + "; ".join(wrong),
        order,
        want,
    )


def _position_rows(
    pos: Position, risk: Risk, mine: list[OrderStatus], legs: Mapping[str, list[OrderStatus]], caps: Any, venue: str
) -> list[ProtectionRow]:
    got = wanted(pos, risk)
    row = partial(ProtectionRow, pos.symbol, pos.quantity, pos.avg_price)
    kind = held_kind(risk)
    why = got if isinstance(got, str) else (venue_problem(kind, caps, venue) if kind else None)
    if why:
        return [row("refused", "", why)]
    if got is None:
        out = [row("ok", "", "no protective order set in the preset")] if not mine else []
        return out + [row("extra", "cancel", f"{o.client_order_id}: the preset sets no protection", o) for o in mine]
    assert isinstance(got, Wanted)
    match = next((o for o in mine if o.side == got.side and kind_of(o) == got.kind), None)
    out = (
        [_compare(pos, got, match, _stop_of(match, legs))]
        if match is not None
        else [row("missing", "place", f"no protective order: wants {got.describe()}", None, got)]
    )
    for o in mine:
        if o is match:
            continue
        if o.side != got.side:
            out.append(row("wrong_side", "cancel", f"{o.client_order_id}: {o.side} order on a {got.side}-side exit", o))
        else:
            out.append(row("extra", "cancel", f"{o.client_order_id}: a second protective order ({kind_of(o)})", o))
    return out


def protection_report(
    broker: Broker, risk: Risk, symbols: Iterable[str] | None = None, *, account_id: str | None = None
) -> ProtectionReport:
    """Each position of `symbols` (None = every position) against the protective order `risk` wants, and every
    protective order without a position (any symbol: it protects nothing and could only open one) as "orphan"."""
    account = account_id if account_id is not None else retry(broker.account).account_id
    positions = {p.symbol: p for p in retry(broker.positions) if abs(p.quantity) > EPS}
    open_orders = retry(lambda: broker.orders("open"))
    legs: dict[str, list[OrderStatus]] = {}
    for o in open_orders:
        if o.parent_id:
            legs.setdefault(o.parent_id, []).append(o)
    ours = [o for o in open_orders if is_protective(o)]
    scope = sorted(positions if symbols is None else set(symbols) & set(positions))
    rows: list[ProtectionRow] = []
    for sym in scope:
        mine = [o for o in ours if o.symbol == sym]
        rows += _position_rows(positions[sym], risk, mine, legs, broker.capabilities, broker.name)
    for o in ours:
        if o.symbol not in positions:
            rows.append(ProtectionRow(o.symbol, 0.0, None, "orphan", "cancel", f"{o.client_order_id}: no position", o))
    return ProtectionReport(broker.name, account, tuple(rows), notes(risk))


def protection_check(plan: RebalancePlan, caps: BrokerCapabilities, venue: str) -> CheckResult:
    """The plan's "protection" check: FAIL when the venue cannot hold the preset's protective order and the plan
    opens or adds to a position (a reduce-only plan gets a WARN: closing must stay possible); WARN with the
    notes when the held order differs from the backtest's stops; else PASS."""
    risk = Risk(**plan.protection)
    kind = held_kind(risk)
    if kind is None:
        return CheckResult("protection", PASS, None, None, "no protective orders set in the preset")
    why = venue_problem(kind, caps, venue)
    if why:
        opens = any(
            abs(o.target_quantity) > abs(o.current_quantity) + EPS or o.target_quantity * o.current_quantity < 0
            for o in plan.orders
        )
        return CheckResult("protection", FAIL if opens else WARN, None, None, f"{why}; nothing would protect it")
    extra = notes(risk)
    message = f"each position gets one protective {kind} order after its fill" + "".join(f"; {n}" for n in extra)
    return CheckResult("protection", WARN if extra else PASS, None, None, message)

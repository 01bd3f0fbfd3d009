"""The rebalance plan: today's target weights -> orders for one account (pure: no broker imports).

    target quantity = w x equity x (1 - cash_buffer) / (price x (1 + costs_bps / 1e4))   for w > 0
                    = w x equity / price                                                for w < 0 (shorts)

The first is the DESIGN §3 sizing rule (commission and slippage fit in the budget, so an all-in portfolio
never needs more cash than it has) with a small cash buffer (default 0.1% of equity) for what moves between
planning and the fill (the price, rounding of fees); costs_bps should compound commission and slippage
((1 + c)(1 + s) - 1, as `SignalReport.costs_bps` does).
    rounded toward zero: to whole units when the broker takes no fractions (for the whole account, or for the
    symbols in `whole_shares`: assets the broker does not trade in fractions), else to `QTY_DECIMALS` decimals
    order quantity = target quantity - current quantity (sign = side)

Orders are sorted sells first (they raise the cash the buys need), then buys, each group by symbol. An order
whose notional (|quantity| x reference price) is below the minimum notional is skipped and listed with the
reason. Only the preset's symbols are managed: other holdings are left alone and reported in `unmanaged`.

The plan id is a hash of the preset, the data timestamp, the targets, and the broker and account, so planning
the same signal again (a reload, a second click, a retry) gives the same id, and every order's
`client_order_id` = f"{plan_id}-{symbol}" is the same too: brokers accept each id once, so nothing is ever sent
twice. Prices are the broker's latest prices at planning time ("reference prices"): fill quality is measured
against them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from engine.errors import ConfigError, DataError
from engine.ops.checks import FAIL, CheckResult

QTY_DECIMALS = 6
LINE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "target_weight",
    "price",
    "current_quantity",
    "target_quantity",
    "order_quantity",
    "side",
    "notional",
    "status",
)


@dataclass(frozen=True)
class PlannedOrder:
    """One order of a plan. quantity > 0 units; notional = quantity x reference_price (account currency)."""

    symbol: str
    side: str
    quantity: float
    reference_price: float
    notional: float
    current_quantity: float
    target_quantity: float
    target_weight: float
    client_order_id: str


@dataclass(frozen=True)
class RebalancePlan:
    """Orders that bring one account to a signal's targets, with the inputs used and the risk checks.

    equity / cash: the account's at planning time. prices: reference price per managed symbol.
    target_quantities: symbol -> signed units after the plan. positions: current signed units (managed
    symbols). unmanaged: symbol -> market value of holdings outside the preset (left alone). stops: stop
    distance per symbol (fraction) for the per-trade risk check. take_profits: take-profit distance per symbol
    (fraction) for the reward:risk check. risk_per_trade: the sizing rule the plan was built with (None = not
    sized by risk); sizing: (symbol, message) per target it capped. protection: the preset's stop_loss /
    take_profit / trailing_stop fractions that are on (brokers.protect places them after the fills; {} = none).
    checks: filled by `with_checks`.
    """

    plan_id: str
    preset: str
    broker: str
    account_id: str
    is_live: bool
    data_timestamp: pd.Timestamp
    stale: bool
    equity: float
    cash: float
    targets: dict[str, float]
    prices: dict[str, float]
    positions: dict[str, float]
    target_quantities: dict[str, float]
    orders: tuple[PlannedOrder, ...]
    skipped: tuple[tuple[str, str], ...]
    unmanaged: dict[str, float]
    fractional: bool
    shorting: bool
    min_notional: float
    costs_bps: float
    stops: dict[str, float | None] = field(default_factory=dict)
    checks: tuple[CheckResult, ...] = ()
    signal_id: int | None = None
    created_at: str = ""
    whole_shares: tuple[str, ...] = ()
    take_profits: dict[str, float | None] = field(default_factory=dict)
    risk_per_trade: float | None = None
    sizing: tuple[tuple[str, str], ...] = ()
    protection: dict[str, float] = field(default_factory=dict)

    @property
    def approved(self) -> bool:
        """Checks were run and none failed."""
        return bool(self.checks) and all(c.status != FAIL for c in self.checks)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def sells(self) -> list[PlannedOrder]:
        return [o for o in self.orders if o.side == "sell"]

    @property
    def buys(self) -> list[PlannedOrder]:
        return [o for o in self.orders if o.side == "buy"]

    def with_checks(self, checks: tuple[CheckResult, ...]) -> RebalancePlan:
        return replace(self, checks=tuple(checks))

    def lines(self) -> pd.DataFrame:
        """One row per managed symbol (LINE_COLUMNS): what it holds, what it should hold, the order or why none."""
        by_symbol = {o.symbol: o for o in self.orders}
        skipped = dict(self.skipped)
        rows = []
        for sym in sorted(self.targets):
            o = by_symbol.get(sym)
            cur, tgt = self.positions.get(sym, 0.0), self.target_quantities.get(sym, 0.0)
            status = "order" if o else skipped.get(sym, "no change")
            rows.append(
                (
                    sym,
                    self.targets[sym],
                    self.prices[sym],
                    cur,
                    tgt,
                    o.quantity if o else 0.0,
                    o.side if o else "",
                    o.notional if o else 0.0,
                    status,
                )
            )
        return pd.DataFrame(rows, columns=list(LINE_COLUMNS))

    def orders_frame(self) -> pd.DataFrame:
        cols = ["client_order_id", "symbol", "side", "quantity", "reference_price", "notional"]
        return pd.DataFrame([[getattr(o, c) for c in cols] for o in self.orders], columns=cols)

    def checks_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(c.name, c.status, c.value, c.limit, c.message) for c in self.checks],
            columns=["check", "status", "value", "limit", "message"],
        )

    def summary(self) -> str:
        state = "APPROVED" if self.approved else ("BLOCKED" if self.checks else "UNCHECKED")
        buys = sum(o.notional for o in self.buys)
        sells = sum(o.notional for o in self.sells)
        return (
            f"plan {self.plan_id} ({self.preset} on {self.broker} {self.account_id}): {len(self.sells)} sell(s) "
            f"{sells:,.2f}, {len(self.buys)} buy(s) {buys:,.2f}, {len(self.skipped)} skipped; {state}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "preset": self.preset,
            "broker": self.broker,
            "account_id": self.account_id,
            "is_live": self.is_live,
            "data_timestamp": pd.Timestamp(self.data_timestamp).isoformat(),
            "stale": self.stale,
            "equity": self.equity,
            "cash": self.cash,
            "targets": self.targets,
            "prices": self.prices,
            "positions": self.positions,
            "target_quantities": self.target_quantities,
            "orders": [o.__dict__ for o in self.orders],
            "skipped": [list(s) for s in self.skipped],
            "unmanaged": self.unmanaged,
            "fractional": self.fractional,
            "shorting": self.shorting,
            "min_notional": self.min_notional,
            "costs_bps": self.costs_bps,
            "stops": self.stops,
            "take_profits": self.take_profits,
            "risk_per_trade": self.risk_per_trade,
            "sizing": [list(x) for x in self.sizing],
            "checks": [c.__dict__ for c in self.checks],
            "approved": self.approved,
            "signal_id": self.signal_id,
            "created_at": self.created_at,
            "whole_shares": list(self.whole_shares),
            "protection": self.protection,
        }


def make_plan_id(
    preset: str, data_timestamp: Any, targets: Mapping[str, float], broker: str = "", account_id: str = ""
) -> str:
    """Deterministic plan id: "p" + 15 hex characters of SHA-256 over preset, data timestamp, targets (rounded
    to 10 decimals), broker and account."""
    key = {
        "preset": preset,
        "data_timestamp": pd.Timestamp(data_timestamp).isoformat(),
        "targets": {s: round(float(w), 10) for s, w in sorted(targets.items())},
        "broker": broker,
        "account": account_id,
    }
    return "p" + hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:15]


def round_quantity(quantity: float, fractional: bool) -> float:
    """Round toward zero: whole units, or QTY_DECIMALS decimals when fractions are allowed."""
    if not fractional:
        return float(math.trunc(quantity + (1e-9 if quantity > 0 else -1e-9)))
    scale = 10**QTY_DECIMALS
    return math.trunc(quantity * scale + (1e-6 if quantity > 0 else -1e-6)) / scale


def target_quantity(
    weight: float, equity: float, price: float, costs_bps: float, fractional: bool, cash_buffer: float = 0.0
) -> float:
    """Units to hold for `weight` of `equity` at `price` (see module docstring), rounded toward zero."""
    if weight == 0:
        return 0.0
    if weight > 0:
        raw = weight * equity * (1.0 - cash_buffer) / (price * (1.0 + costs_bps / 1e4))
    else:
        raw = weight * equity / price
    return round_quantity(raw, fractional)


def build_plan(
    *,
    preset: str,
    data_timestamp: Any,
    targets: Mapping[str, float],
    equity: float,
    cash: float,
    prices: Mapping[str, float],
    positions: Mapping[str, float],
    broker: str,
    account_id: str = "",
    is_live: bool = False,
    fractional: bool = True,
    shorting: bool = False,
    min_notional: float = 0.0,
    costs_bps: float = 0.0,
    stale: bool = False,
    stops: Mapping[str, float | None] | None = None,
    position_values: Mapping[str, float] | None = None,
    signal_id: int | None = None,
    cash_buffer: float = 0.001,
    whole_shares: Collection[str] = (),
    take_profits: Mapping[str, float | None] | None = None,
    risk_per_trade: float | None = None,
    protection: Mapping[str, float] | None = None,
) -> RebalancePlan:
    """Build the (unchecked) plan. positions: symbol -> signed units held (any symbols); position_values:
    symbol -> market value (for the unmanaged ones; default units x price when the price is known).
    cash_buffer: fraction of equity not spent on long targets (see module docstring). whole_shares: symbols
    ordered in whole units even when `fractional` (the broker's non-fractionable assets). risk_per_trade
    (fraction of equity, None = off): a target that opens or adds exposure on a symbol with a stop distance d is
    capped so the added units lose at most risk_per_trade x equity at the stop: units = risk_per_trade x equity
    / (entry - stop), with entry - stop = price x d (a symbol without a stop is left to the risk checks).
    protection: carried into the plan as is (see RebalancePlan).

    Raises DataError if a target symbol has no valid price, ConfigError on a non-finite equity.
    """
    if not isinstance(equity, (int, float)) or not math.isfinite(equity):
        raise ConfigError(f"rebalance: account equity {equity!r} is not a number")
    if not 0.0 <= cash_buffer < 1.0:
        raise ConfigError(f"rebalance: cash_buffer {cash_buffer!r} must be in [0, 1)")
    bad = sorted(
        s
        for s in targets
        if not (isinstance(prices.get(s), (int, float)) and math.isfinite(prices[s]) and prices[s] > 0)
    )
    if bad:
        raise DataError(f"rebalance: no valid price for {bad}")
    bad_w = sorted(s for s, w in targets.items() if not math.isfinite(w))
    if bad_w:
        raise DataError(f"rebalance: target weight of {bad_w} is not a number")
    plan_id = make_plan_id(preset, data_timestamp, targets, broker, account_id)
    managed = {s: float(positions.get(s, 0.0)) for s in targets}
    whole = frozenset(whole_shares) & frozenset(targets) if fractional else frozenset()
    tq: dict[str, float] = {}
    sells: list[PlannedOrder] = []
    buys: list[PlannedOrder] = []
    skipped: list[tuple[str, str]] = []
    sizing: list[tuple[str, str]] = []
    for sym in sorted(targets):
        w, px, cur = float(targets[sym]), float(prices[sym]), managed[sym]
        frac = fractional and sym not in whole
        tgt = target_quantity(w, equity, px, costs_bps, frac, cash_buffer)
        if risk_per_trade is not None:
            tgt = _risk_sized(sym, tgt, cur, px, float(equity), (stops or {}).get(sym), risk_per_trade, frac, sizing)
        delta = -cur if tgt == 0 else round_quantity(tgt - cur, frac)  # a close sells exactly what is held
        qty = round(abs(delta), QTY_DECIMALS + 3)
        if qty <= 0:
            tq[sym] = cur
            continue
        notional = qty * px
        if notional < min_notional:
            tq[sym] = cur
            skipped.append(
                (
                    sym,
                    f"skipped: order {qty:g} x {px:,.2f} = {notional:,.2f} is under the minimum "
                    f"notional {min_notional:,.2f}",
                )
            )
            continue
        tq[sym] = cur + delta
        side = "buy" if delta > 0 else "sell"
        order = PlannedOrder(
            symbol=sym,
            side=side,
            quantity=qty,
            reference_price=px,
            notional=notional,
            current_quantity=cur,
            target_quantity=tgt,
            target_weight=w,
            client_order_id=f"{plan_id}-{sym}",
        )
        (buys if side == "buy" else sells).append(order)
    values = dict(position_values or {})
    unmanaged = {}
    for sym, q in positions.items():
        if sym in targets or not q:
            continue
        unmanaged[sym] = float(values.get(sym, q * prices[sym] if sym in prices else 0.0))
    return RebalancePlan(
        plan_id=plan_id,
        preset=preset,
        broker=broker,
        account_id=account_id,
        is_live=is_live,
        data_timestamp=pd.Timestamp(data_timestamp),
        stale=stale,
        equity=float(equity),
        cash=float(cash),
        targets={s: float(w) for s, w in targets.items()},
        prices={s: float(prices[s]) for s in targets},
        positions=managed,
        target_quantities=tq,
        orders=tuple(sells + buys),
        skipped=tuple(skipped),
        unmanaged=unmanaged,
        fractional=fractional,
        shorting=shorting,
        min_notional=float(min_notional),
        costs_bps=float(costs_bps),
        stops=dict(stops or {}),
        signal_id=signal_id,
        created_at=datetime.now(UTC).isoformat(),
        whole_shares=tuple(sorted(whole)),
        take_profits=dict(take_profits or {}),
        risk_per_trade=risk_per_trade,
        sizing=tuple(sizing),
        protection=dict(protection or {}),
    )


def _risk_sized(
    sym: str,
    tgt: float,
    cur: float,
    px: float,
    equity: float,
    stop: float | None,
    risk: float,
    fractional: bool,
    sizing: list[tuple[str, str]],
) -> float:
    """`tgt` capped so the units it adds lose at most `risk` x equity at the stop (see build_plan)."""
    if tgt == 0 or stop is None or not stop > 0 or equity <= 0:
        return tgt
    base = 0.0 if cur != 0 and (cur > 0) != (tgt > 0) else cur  # a flip opens the whole new side
    added = abs(tgt) - abs(base)
    distance = px * stop
    cap = risk * equity / distance
    if added <= cap + 1e-9:
        return tgt
    capped = round_quantity(math.copysign(abs(base) + cap, tgt), fractional)
    stop_px = px - distance if tgt > 0 else px + distance
    sizing.append(
        (
            sym,
            f"{sym}: target {abs(tgt):g} units capped to {abs(capped):g}: risk_per_trade {risk:g} x equity "
            f"{equity:,.2f} / |entry {px:,.2f} - stop {stop_px:,.2f}| = {cap:,.4f} units"
            + (f" added to the {abs(base):g} held" if base else ""),
        )
    )
    return capped

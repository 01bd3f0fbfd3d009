"""The trading desk's numbers, broker-independent: account summary, positions with P&L and drift, order rows.

Pure functions over plain values (the broker adapters' Account / Position / OrderStatus objects are read by
attribute only, so the engine never imports brokers/). Money is in the account currency, quantities in units
(signed: negative = short), percentages as fractions (0.01 = 1 %), ages in seconds.

- Exposure: gross = sum |market value|, net = sum market value; leverage = gross / equity.
- Day P&L: equity now minus the last equity snapshot of an earlier New York session (`previous_session_equity`).
- Unrealized P&L: quantity x (last - average cost); its % is that over |quantity| x average cost (so a short
  that fell shows a gain). Today's P&L: quantity x (last - previous close) when the previous close is known (it
  assumes the position was held since that close; a position opened today counts from the close).
- Drift: weight (market value / equity) minus the preset's target weight (0 for a symbol the preset does not
  hold; a target symbol without a position appears with quantity 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

MARKET_TZ = "America/New_York"
POSITION_COLUMNS: tuple[str, ...] = (
    "symbol",
    "quantity",
    "avg_cost",
    "last_price",
    "market_value",
    "unrealized_pnl",
    "unrealized_pct",
    "today_pnl",
    "weight",
    "target_weight",
    "drift",
    "open_orders",
)
ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    "client_order_id",
    "symbol",
    "side",
    "type",
    "quantity",
    "filled",
    "limit_price",
    "stop_price",
    "trail_percent",
    "trail_price",
    "time_in_force",
    "order_class",
    "parent_id",
    "status",
    "submitted_at",
    "age_s",
    "avg_fill_price",
    "filled_at",
)


def _ts(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def previous_session_equity(history: pd.Series, now: datetime | None = None) -> float | None:
    """The last equity snapshot taken on a New York date before today's (None if there is none).

    history: equity indexed by timestamp (naive = UTC), any order.
    """
    if history.empty:
        return None
    today = _ts(now or datetime.now(UTC)).tz_convert(MARKET_TZ).date()
    idx = pd.DatetimeIndex([_ts(t) for t in history.index])
    ordered = pd.Series(history.to_numpy(dtype=float), index=idx).sort_index(kind="stable")
    earlier = ordered[[t.tz_convert(MARKET_TZ).date() < today for t in ordered.index]]
    return float(earlier.iloc[-1]) if len(earlier) else None


def previous_closes(close: pd.DataFrame, now: datetime | None = None) -> dict[str, float]:
    """Per column of a daily close frame (index: session dates), the last close of a session before today's
    New York date; a column without one is left out."""
    today = _ts(now or datetime.now(UTC)).tz_convert(MARKET_TZ).date()
    before = close[[pd.Timestamp(t).date() < today for t in close.index]]
    out = {}
    for sym in before.columns:
        col = before[sym].dropna()
        if len(col):
            out[str(sym)] = float(col.iloc[-1])
    return out


def exposure(positions: Iterable[Any]) -> tuple[float, float]:
    """(gross, net) exposure in currency: sum of |market value| and sum of market value."""
    values = [float(p.market_value) for p in positions]
    return float(sum(abs(v) for v in values)), float(sum(values))


def account_summary(
    account: Any, positions: Sequence[Any], previous_equity: float | None, broker: str = "", live: bool = False
) -> dict[str, Any]:
    """Equity, cash, buying power, day P&L (money and fraction of the previous equity), exposure, leverage."""
    gross, net = exposure(positions)
    equity = float(account.equity)
    day_pnl = None if previous_equity is None else equity - previous_equity
    day_pct = None if day_pnl is None or not previous_equity else day_pnl / previous_equity
    return {
        "broker": broker,
        "account_id": account.account_id,
        "live": bool(live or account.is_live),
        "currency": account.currency,
        "equity": equity,
        "cash": float(account.cash),
        "buying_power": float(account.buying_power),
        "previous_equity": previous_equity,
        "day_pnl": day_pnl,
        "day_pnl_pct": day_pct,
        "gross_exposure": gross,
        "net_exposure": net,
        "leverage": gross / equity if equity > 0 else math.nan,
        "positions": len(positions),
    }


def positions_frame(
    positions: Sequence[Any],
    prices: Mapping[str, float],
    equity: float,
    previous_closes: Mapping[str, float] | None = None,
    targets: Mapping[str, float] | None = None,
    open_orders: Sequence[Any] = (),
) -> pd.DataFrame:
    """One row per position (POSITION_COLUMNS), plus a row for each target symbol not held; sorted by symbol.

    prices: last price per symbol (falls back to market value / quantity). open_orders: the open orders,
    counted per symbol. target_weight / drift are NaN without `targets`; today_pnl NaN without a previous close.
    """
    closes = previous_closes or {}
    counts: dict[str, int] = {}
    for o in open_orders:
        counts[o.symbol] = counts.get(o.symbol, 0) + 1
    held = {p.symbol: p for p in positions}
    symbols = sorted(set(held) | {s for s, w in (targets or {}).items() if w})
    rows = []
    for sym in symbols:
        p = held.get(sym)
        qty = float(p.quantity) if p else 0.0
        avg = float(p.avg_price) if p else math.nan
        mult = float(getattr(p, "multiplier", 1))  # an option: money is price x contracts x multiplier
        last = prices.get(sym)
        if last is None:
            last = float(p.market_value) / qty / mult if p and qty else math.nan
        value = float(p.market_value) if p else 0.0
        upnl = qty * (last - avg) * mult if p else 0.0
        basis = abs(qty) * avg * mult
        prev = closes.get(sym)
        weight = value / equity if equity > 0 else math.nan
        target = math.nan if targets is None else float(targets.get(sym, 0.0))
        rows.append(
            (
                sym,
                qty,
                avg,
                float(last),
                value,
                upnl,
                upnl / basis if p and basis > 0 else math.nan,
                qty * (float(last) - float(prev)) * mult if prev is not None else math.nan,
                weight,
                target,
                weight - target,
                counts.get(sym, 0),
            )
        )
    return pd.DataFrame(rows, columns=list(POSITION_COLUMNS))


def filter_orders(
    orders: Iterable[Any], symbol: str | None = None, side: str | None = None, since: Any = None
) -> list[Any]:
    """Orders of `symbol` (any case), `side` ("buy"/"sell") and submitted at or after `since` (naive = UTC)."""
    start = None if since is None else _ts(since)
    out = []
    for o in orders:
        if symbol and o.symbol.upper() != symbol.strip().upper():
            continue
        if side and o.side != side:
            continue
        if start is not None and (o.submitted_at is None or _ts(o.submitted_at) < start):
            continue
        out.append(o)
    return out


def orders_frame(orders: Iterable[Any], now: datetime | None = None) -> pd.DataFrame:
    """One row per order (ORDER_COLUMNS), newest first; age_s = seconds since submission (NaN if unknown);
    times as ISO-8601 UTC text (filled_at: the last fill, None before one)."""
    clock = _ts(now or datetime.now(UTC))
    rows = []
    for o in orders:
        sub = None if o.submitted_at is None else _ts(o.submitted_at)
        filled_at = o.filled_at
        rows.append(
            (
                o.id,
                o.client_order_id,
                o.symbol,
                o.side,
                o.type,
                float(o.quantity),
                float(o.filled_quantity),
                o.limit_price,
                o.stop_price,
                o.trail_percent,
                o.trail_price,
                o.time_in_force,
                o.order_class,
                o.parent_id,
                o.status,
                None if sub is None else sub.isoformat(),
                math.nan if sub is None else (clock - sub).total_seconds(),
                o.avg_fill_price,
                None if filled_at is None else _ts(filled_at).isoformat(),
            )
        )
    frame = pd.DataFrame(rows, columns=list(ORDER_COLUMNS))
    return frame.sort_values("submitted_at", ascending=False, na_position="last", kind="stable").reset_index(drop=True)

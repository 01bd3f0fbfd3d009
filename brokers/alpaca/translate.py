"""Alpaca <-> IvyBT: value tables, SDK order objects to our OrderStatus / OrderAck, SDK errors to ours.

Errors are translated at this boundary (`raise ... from e`): 401 -> AuthError; 403/422 "insufficient buying
power" -> InsufficientFunds; other 4xx on an order -> OrderRejected; 429 -> RateLimited (with Retry-After);
5xx, timeouts, lost connections and malformed answers -> BrokerUnavailable (retryable; what the adapter itself
retries is brokers.alpaca.faults).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pydantic
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Order

from brokers.alpaca.http import MalformedAnswer, NoAnswer, endpoint
from brokers.alpaca.settings import TIMEOUT_ENV
from brokers.base import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    InsufficientFunds,
    OrderAck,
    OrderRejected,
    OrderStatus,
    RateLimited,
)

SIDE_TO_ALPACA: dict[str, OrderSide] = {"buy": OrderSide.BUY, "sell": OrderSide.SELL}
TIF_TO_ALPACA: dict[str, TimeInForce] = {
    "day": TimeInForce.DAY,
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
}
QUERY_TO_ALPACA: dict[str, QueryOrderStatus] = {
    "open": QueryOrderStatus.OPEN,
    "closed": QueryOrderStatus.CLOSED,
    "all": QueryOrderStatus.ALL,
}
# Alpaca order status -> ours. Working states are "new" (upgraded to partially_filled when something filled).
STATUS_FROM_ALPACA: dict[str, str] = {
    "new": "new",
    "accepted": "new",
    "pending_new": "new",
    "accepted_for_bidding": "new",
    "held": "new",  # a bracket leg waiting for its entry, or the passive leg of a pair: open
    "pending_review": "new",
    "calculated": "new",
    "stopped": "new",
    "pending_cancel": "new",
    "pending_replace": "new",
    "done_for_day": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "replaced": "canceled",  # closed: a new order (replaced_by) took its place
    "expired": "expired",
    "rejected": "rejected",
    "suspended": "rejected",
}
ORDER_ACTIONS = frozenset({"submit", "cancel", "replace"})
"""Actions whose 4xx errors are order rejections (elsewhere a 403 is an authorization problem); the action's
first word counts ("replace <order id>")."""


def _api_message(e: APIError) -> str:
    """The `message` of Alpaca's JSON error body; else the HTTP reason (a proxy's HTML page is no message)."""
    try:
        return str(json.loads(str(e)).get("message", "")) or str(e)[:200]
    except (ValueError, AttributeError):
        reason = getattr(e.response, "reason", None)
        return str(reason) if reason else " ".join(str(e).split())[:200]


def retry_after(response: Any) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    value = (getattr(response, "headers", None) or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def translate_api_error(e: APIError, action: str) -> BrokerError:
    """Map an alpaca-py APIError to our hierarchy (the caller raises it `from e`)."""
    status, msg = e.status_code, _api_message(e)
    low = msg.lower()
    text = f"alpaca {action}: {msg} (HTTP {status})"
    if status == 429:
        wait = retry_after(e.response)
        when = f"retry after {wait:g} s" if wait is not None else "no Retry-After given"
        return RateLimited(f"alpaca: rate limited (429) on {endpoint(e.request)} ({action}); {when}", wait)
    if status is None or status >= 500:
        return BrokerUnavailable(text)
    if status == 401:
        return AuthError(text)
    if "buying power" in low or "insufficient funds" in low:
        return InsufficientFunds(text)
    if action.split(" ", 1)[0] in ORDER_ACTIONS:
        return OrderRejected(text)
    if status == 403:
        return AuthError(text)
    return BrokerError(text)


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn SDK / transport errors raised inside the block into BrokerError subclasses."""
    try:
        yield
    except APIError as e:
        raise translate_api_error(e, action) from e
    except MalformedAnswer as e:
        raise BrokerUnavailable(f"alpaca: malformed answer from {e} ({action})") from e
    except NoAnswer as e:
        raise BrokerUnavailable(f"alpaca: no answer from {e} ({action}; timeout: {TIMEOUT_ENV})") from e
    except requests.exceptions.RequestException as e:  # connection refused/reset/dropped
        raise BrokerUnavailable(f"alpaca {action}: no answer from the service ({type(e).__name__})") from e
    except pydantic.ValidationError as e:
        raise BrokerError(f"alpaca {action}: unexpected response ({e.error_count()} invalid field(s))") from e


def expect[M](value: object, kind: type[M], action: str) -> M:
    """`value` as the alpaca-py model `kind`. The SDK's methods are typed "model or raw dict" (its raw_data
    mode, which we never turn on): anything but a `kind` is a BrokerError naming what came back."""
    if not isinstance(value, kind):
        raise BrokerError(f"alpaca {action}: expected {kind.__name__}, got {type(value).__name__}: {value!r:.200}")
    return value


def expect_list[M](value: object, kind: type[M], action: str) -> list[M]:
    """`value` as a list of alpaca-py `kind` models (see `expect`)."""
    if not isinstance(value, list):
        raise BrokerError(f"alpaca {action}: expected a list of {kind.__name__}, got {type(value).__name__}")
    return [expect(v, kind, action) for v in value]


def number(value: Any, default: float = 0.0) -> float:
    """A number Alpaca sends as a string; None or "" -> `default`."""
    return float(value) if value not in (None, "") else default


def raw_value(value: Any) -> str:
    """An SDK enum (or plain string) as its wire value; None -> ""."""
    if value is None:
        return ""
    return str(value.value) if hasattr(value, "value") else str(value)


def _price(value: Any) -> float | None:
    return number(value) if value not in (None, "") else None


def order_status(o: Order, parent_id: str = "") -> OrderStatus:
    """An alpaca-py `Order` as our OrderStatus (a working order with fills is partially_filled).

    A bracket / OCO parent lists its legs' ids in `legs` (when Alpaca nested them); `parent_id` names the parent
    of a leg (only the caller that saw it nested knows it). "held" (a leg waiting for its entry, or the passive
    leg of a pair) is open; "replaced" is closed as canceled, the reason naming the replacing order."""
    raw = raw_value(o.status)
    filled = number(o.filled_qty)
    state = STATUS_FROM_ALPACA.get(raw, "new")
    if state == "new" and filled > 0:
        state = "partially_filled"
    qty = number(o.qty)
    if not qty and o.notional and o.filled_avg_price:
        qty = number(o.notional) / number(o.filled_avg_price)
    reason = ""
    if state == "rejected":
        reason = f"alpaca status {raw}"
    elif raw == "replaced":
        reason = f"replaced by order {o.replaced_by}"
    return OrderStatus(
        id=str(o.id),
        client_order_id=o.client_order_id,
        symbol=o.symbol or "",
        side=raw_value(o.side),
        quantity=qty,
        filled_quantity=filled,
        avg_fill_price=number(o.filled_avg_price) if filled > 0 and o.filled_avg_price else None,
        status=state,
        reason=reason,
        type=raw_value(o.type) or "market",
        limit_price=_price(o.limit_price),
        submitted_at=o.submitted_at,
        filled_at=(o.filled_at or o.updated_at) if filled > 0 else None,
        stop_price=_price(o.stop_price),
        trail_percent=_price(o.trail_percent),
        trail_price=_price(o.trail_price),
        order_class=raw_value(o.order_class) or "simple",
        parent_id=parent_id,
        legs=tuple(str(leg.id) for leg in o.legs or ()),
        time_in_force=raw_value(o.time_in_force) or "day",
    )


def flatten(orders: list[Order]) -> list[OrderStatus]:
    """Nested orders (legs under their parent's "legs") as one list: each parent, then its legs naming it."""
    out: list[OrderStatus] = []
    for o in orders:
        out.append(order_status(o))
        out.extend(order_status(leg, parent_id=str(o.id)) for leg in o.legs or ())
    return out


def order_ack(o: Order, duplicate: bool) -> OrderAck:
    """An alpaca-py `Order` as the acknowledgement of a submit (duplicate: it existed before this submit)."""
    s = order_status(o)
    return OrderAck(
        id=s.id,
        client_order_id=s.client_order_id,
        symbol=s.symbol,
        side=s.side,
        quantity=s.quantity,
        status=s.status,
        submitted_at=s.submitted_at,
        duplicate=duplicate,
    )


def history_points(raw: object) -> list[tuple[datetime, float]]:
    """GET /v2/account/portfolio/history's body as (UTC timestamp, equity) pairs, oldest first.

    Points without an equity (null, zero or not finite: days before the account was funded) are skipped.
    Anything but parallel `timestamp` / `equity` lists is a BrokerError naming what came back.
    """
    if not isinstance(raw, dict):
        raise BrokerError(f"alpaca portfolio history: expected an object, got {type(raw).__name__}: {raw!r:.200}")
    stamps, equity = raw.get("timestamp") or [], raw.get("equity") or []
    if not isinstance(stamps, list) or not isinstance(equity, list) or len(stamps) != len(equity):
        raise BrokerError(
            f"alpaca portfolio history: timestamp / equity must be lists of one length, got {stamps!r:.80} / "
            f"{equity!r:.80}"
        )
    out = []
    for ts, value in zip(stamps, equity, strict=True):
        if value is None:
            continue
        try:
            eq, when = float(value), datetime.fromtimestamp(int(ts), UTC)
        except (TypeError, ValueError, OverflowError, OSError) as e:
            raise BrokerError(f"alpaca portfolio history: point ({ts!r}, {value!r}) is not (seconds, equity)") from e
        if math.isfinite(eq) and eq > 0:
            out.append((when, eq))
    return sorted(out)

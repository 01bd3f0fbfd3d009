"""The broker contract (DESIGN §4) as the adapters see it: the protocol, values and errors of engine.orders
re-exported in one place, plus what only real venues need (the live opt-in, retries).

Every adapter (paper, Alpaca, IBKR) speaks these types only; venue SDK objects never leave an adapter.
The types themselves live in engine.orders because the event simulator (engine.sim.event) implements the same
`Broker` protocol with the same order types: one set for the backtest and the venues.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from engine.orders.errors import (
    AuthError,
    BrokerConfigError,
    BrokerError,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderRejected,
    PriceUnavailable,
    RateLimited,
)
from engine.orders.protocol import Broker, OptionsBroker
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES
from engine.orders.values import (
    MAX_CLIENT_ORDER_ID,
    OPEN_STATES,
    ORDER_QUERIES,
    SIDES,
    STATES,
    Account,
    BrokerCapabilities,
    Fill,
    OrderAck,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    State,
    TimeInForce,
    check_order_query,
    check_supported,
    matches_query,
)

__all__ = [
    "MAX_CLIENT_ORDER_ID",
    "MAX_WAIT",
    "OPEN_STATES",
    "ORDER_CLASSES",
    "ORDER_QUERIES",
    "ORDER_TYPES",
    "SIDES",
    "STATES",
    "Account",
    "AuthError",
    "Broker",
    "BrokerCapabilities",
    "BrokerConfigError",
    "BrokerError",
    "BrokerUnavailable",
    "Fill",
    "InsufficientFunds",
    "InvalidOrder",
    "LIVE_OPT_IN_ENV",
    "NoReplace",
    "OptionsBroker",
    "OrderAck",
    "OrderClass",
    "OrderRejected",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "PriceUnavailable",
    "RateLimited",
    "Side",
    "State",
    "TimeInForce",
    "check_order_query",
    "check_supported",
    "env_flag",
    "matches_query",
    "require_live_opt_in",
    "retry",
]

log = logging.getLogger(__name__)


class NoReplace:
    """Mixin for an adapter whose `replace` is not wired yet: it refuses, naming the venue and the order."""

    name: str

    def replace(
        self,
        order_id: str,
        quantity: float | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail: float | None = None,
    ) -> OrderAck:
        raise OrderRejected(f"{self.name}: replace of order {order_id!r} is not supported by this adapter yet")


LIVE_OPT_IN_ENV = "IVYBT_ALLOW_LIVE"


def require_live_opt_in(venue: str) -> None:
    """Refuse live trading unless the environment opts in explicitly (IVYBT_ALLOW_LIVE=1).

    A live adapter needs BOTH `live=True` in its settings AND this variable, so a preset or a typo alone can
    never route real orders.
    """
    if os.environ.get(LIVE_OPT_IN_ENV) != "1":
        raise BrokerConfigError(
            f"{venue}: live trading refused: live=True also needs the environment variable "
            f"{LIVE_OPT_IN_ENV}=1 (paper trading needs neither)"
        )


def env_flag(value: str | None) -> bool:
    """A settings flag from the environment: "1", "true", "yes" or "on" (any case) is True, anything else False."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


MAX_WAIT = 30.0
"""Seconds: the longest wait between two attempts. A broker asking for more (RateLimited.retry_after) is not
waited for: its error is raised at once, naming the wait it asked for."""


def retry[T](
    fn: Callable[[], T],
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    *,
    retry_if: Callable[[BrokerUnavailable], bool] | None = None,
) -> T:
    """Call `fn`, retrying ONLY `BrokerUnavailable` (and of those only what `retry_if` accepts), up to `attempts`
    calls in total.

    Waits backoff * 2**k seconds before retry k+1 (0.5 s, 1 s, 2 s ...), or the `retry_after` of a RateLimited
    error (the broker's own Retry-After), each wait at most MAX_WAIT; every wait is logged (INFO) naming
    the error. Any other error propagates at once; after the last attempt the last `BrokerUnavailable` is
    raised. Safe for `submit` because submit is idempotent on client_order_id.
    """
    if attempts < 1:
        raise BrokerConfigError(f"retry: attempts must be >= 1, got {attempts!r}")
    for k in range(attempts):
        try:
            return fn()
        except BrokerUnavailable as e:
            asked = e.retry_after if isinstance(e, RateLimited) else None
            if k == attempts - 1 or (retry_if is not None and not retry_if(e)) or (asked or 0.0) > MAX_WAIT:
                raise
            wait = min(max(asked, 0.0) if asked is not None else backoff * (2**k), MAX_WAIT)
            log.info("%s; retry %d of %d in %g s", e, k + 1, attempts - 1, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover

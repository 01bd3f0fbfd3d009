"""The broker error hierarchy (DESIGN §10): what an adapter or the event simulator raises on purpose.

Adapters translate SDK errors at their boundary (`raise OrderRejected(...) from e`) so callers handle five error
classes, and only `BrokerUnavailable` is worth retrying (brokers.base.retry).
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base class of every error a broker adapter raises on purpose (shown to the user as one message)."""


class BrokerUnavailable(BrokerError):
    """The broker could not be reached or answered with a server error. Temporary: safe to retry."""


class RateLimited(BrokerUnavailable):
    """The broker asked us to slow down (HTTP 429, a pacing violation). `retry_after`: the seconds it asked us to
    wait before the next request (None: it did not say); `retry` honours it up to MAX_WAIT."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrderRejected(BrokerError):
    """The broker (or our own pre-send check) refused an order; the message says why."""


class InsufficientFunds(OrderRejected):
    """An order needs more cash / buying power than the account has."""


class InvalidOrder(OrderRejected):
    """An `OrderRequest` is malformed; raised before anything is sent."""


class AuthError(BrokerError):
    """Credentials are missing or were refused."""


class BrokerConfigError(BrokerError):
    """The adapter is configured wrongly (e.g. live trading without the explicit opt-in)."""


class PriceUnavailable(BrokerError):
    """No latest price could be found for a symbol (names the symbols)."""

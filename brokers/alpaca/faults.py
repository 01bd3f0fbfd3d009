"""What the Alpaca adapter retries itself, and what it does when a write's outcome is unknown: one policy.

Retried here (brokers.base.retry, at most ATTEMPTS calls, BACKOFF * 2**k apart): what the service ANSWERED as
temporary. A 429 waits its Retry-After (up to brokers.base.MAX_WAIT; a longer wait is raised at once, naming it);
a 5xx or a malformed 2xx body is retried for reads, and for writes only once the order's client_order_id shows
it was not placed. No answer at all (refused, dropped, timed out: each try of a silent server costs the whole
timeout) is raised at once as BrokerUnavailable; the callers' own retries decide, and every submit looks its id
up before sending. alpaca-py's built-in retry is off (brokers.alpaca.http).

A write (POST /v2/orders, PATCH /v2/orders/{id}) answered with a 5xx, a malformed body, an invalid order or
nothing within the timeout may have been placed: `resolve` looks the order up by its client_order_id before
anything is sent again and returns it if it is there. A connection dropped mid-write is not resolved here: it
is raised (the retry's lookup finds the order; tests/brokers/alpaca/test_alpaca.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pydantic
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.models import Order

from brokers.alpaca.http import MalformedAnswer
from brokers.alpaca.translate import translate_errors
from brokers.base import BrokerError, BrokerUnavailable, RateLimited, retry

ATTEMPTS = 3  # calls per operation, the first included
BACKOFF = 0.5  # seconds before retry k: BACKOFF * 2**k (0.5 s, 1 s), unless the service said Retry-After

log = logging.getLogger(__name__)


def _answered_5xx(e: BaseException) -> bool:
    cause = e.__cause__
    return isinstance(cause, APIError) and (cause.status_code or 0) >= 500


def worth_retrying(e: BrokerUnavailable) -> bool:
    """True for what the service answered as temporary: a 429, a 5xx, a malformed 2xx body."""
    return isinstance(e, RateLimited) or _answered_5xx(e) or isinstance(e.__cause__, MalformedAnswer)


def ambiguous(e: BrokerError) -> bool:
    """After a write: may the order have been placed although no usable answer came back? (5xx, malformed or
    invalid 2xx body, no answer within the timeout; not a 429 nor a refusal.)"""
    cause = e.__cause__
    return _answered_5xx(e) or isinstance(cause, (MalformedAnswer, requests.Timeout, pydantic.ValidationError))


def call[T](fn: Callable[[], T], action: str) -> T:
    """One SDK call, its errors translated, not retried."""
    with translate_errors(action):
        return fn()


def read[T](fn: Callable[[], T], action: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """A read (safe to repeat): one SDK call, translated, retried per the policy above."""
    return retry(lambda: call(fn, action), ATTEMPTS, BACKOFF, sleep, retry_if=worth_retrying)


def write[T](fn: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """A whole write attempt (`fn`: look the id up, send, `resolve`), repeated per the policy above."""
    return retry(fn, ATTEMPTS, BACKOFF, sleep, retry_if=worth_retrying)


def resolve(error: BrokerError, lookup: Callable[[], Order | None], client_order_id: str) -> Order:
    """After a write failed with `error`: the order `client_order_id` if the service has it (placed once, its
    answer lost); else `error` again, saying so. Raise `error` itself when it is not ambiguous."""
    if not ambiguous(error):
        raise error
    try:
        found = lookup()
    except BrokerError as e:
        raise BrokerUnavailable(
            f"{error}; order {client_order_id} may have been placed: its lookup failed too ({e}); nothing was "
            "resent (a retry looks it up first)"
        ) from error.__cause__
    if found is None:
        raise type(error)(f"{error}; order {client_order_id} is not at alpaca: not placed") from error.__cause__
    log.info("%s; order %s found by its client_order_id: placed once", error, client_order_id)
    return found

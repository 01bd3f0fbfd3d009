"""Helpers of the IBKR order tests: wait for the client to hear of a change, and what the fake was sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.brokers.ibkr.tws_messages import parse_place_order


def wait_until(check: Callable[[], bool], timeout: float = 5.0, poll: float = 0.02) -> None:
    """Poll `check` until it is true; AssertionError after `timeout` seconds (never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(poll)


def placed(fake: Any) -> list[dict[str, Any]]:
    """Every placeOrder message the fake received, read by field position (tws_messages.PLACE_ORDER_FIELDS)."""
    with fake.lock:
        return [parse_place_order(f) for f in fake.received if int(f[0]) == 3]


def by_ref(fake: Any) -> dict[str, dict[str, Any]]:
    """The fake's orders by orderRef (its own state: what TWS holds)."""
    with fake.lock:
        return {o["ref"]: dict(o) for o in fake.orders.values()}

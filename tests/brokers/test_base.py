"""brokers.base: order validation, query helpers and the retry policy."""

from __future__ import annotations

import pytest

from brokers.base import (
    AuthError,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderRejected,
    OrderRequest,
    matches_query,
    retry,
)


def test_order_request_checks_each_field_by_name():
    with pytest.raises(InvalidOrder, match="order.quantity: -1"):
        OrderRequest("SPY", -1, "buy")
    with pytest.raises(InvalidOrder, match="order.quantity: nan"):
        OrderRequest("SPY", float("nan"), "buy")
    with pytest.raises(InvalidOrder, match="order.side: 'long'"):
        OrderRequest("SPY", 1, "long")
    with pytest.raises(InvalidOrder, match="order.type: 'stop'"):
        OrderRequest("SPY", 1, "buy", type="stop")
    with pytest.raises(InvalidOrder, match="order.limit_price: None"):
        OrderRequest("SPY", 1, "buy", type="limit")
    with pytest.raises(InvalidOrder, match="order.limit_price: 10"):
        OrderRequest("SPY", 1, "buy", limit_price=10)
    with pytest.raises(InvalidOrder, match="order.time_in_force: 'gtx'"):
        OrderRequest("SPY", 1, "buy", time_in_force="gtx")
    with pytest.raises(InvalidOrder, match="order.symbol"):
        OrderRequest(" SPY", 1, "buy")
    with pytest.raises(InvalidOrder, match="order.client_order_id"):
        OrderRequest("SPY", 1, "buy", client_order_id="a b")
    with pytest.raises(InvalidOrder, match="order.client_order_id"):
        OrderRequest("SPY", 1, "buy", client_order_id="x" * 65)
    assert issubclass(InvalidOrder, OrderRejected) and issubclass(InsufficientFunds, OrderRejected)


def test_order_request_defaults_and_generated_id():
    a, b = OrderRequest("SPY", 2.5, "sell"), OrderRequest("SPY", 2.5, "sell")
    assert a.client_order_id.startswith("ivy-") and a.client_order_id != b.client_order_id
    assert a.signed_quantity == -2.5 and OrderRequest("SPY", 3, "buy").signed_quantity == 3
    assert OrderRequest("SPY", 1, "buy", client_order_id="plan1-SPY").client_order_id == "plan1-SPY"


def test_matches_query():
    assert [s for s in ("new", "partially_filled", "filled", "canceled") if matches_query(s, "open")] == [
        "new",
        "partially_filled",
    ]
    assert [s for s in ("new", "filled", "rejected", "expired") if matches_query(s, "closed")] == [
        "filled",
        "rejected",
        "expired",
    ]
    assert matches_query("new", "all") and matches_query("filled", "all")


def test_retry_retries_only_unavailable_with_exponential_backoff():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise BrokerUnavailable("down")
        return "ok"

    assert retry(flaky, attempts=5, backoff=0.1, sleep=waits.append) == "ok"
    assert len(calls) == 3 and waits == [0.1, 0.2]

    calls.clear()

    def always_down():
        calls.append(1)
        raise BrokerUnavailable("still down")

    with pytest.raises(BrokerUnavailable, match="still down"):
        retry(always_down, attempts=3, backoff=1.0, sleep=waits.append)
    assert len(calls) == 3

    calls.clear()

    def rejected():
        calls.append(1)
        raise OrderRejected("no")

    with pytest.raises(OrderRejected):
        retry(rejected, attempts=3, sleep=waits.append)
    with pytest.raises(AuthError):
        retry(lambda: (_ for _ in ()).throw(AuthError("bad key")), attempts=3, sleep=waits.append)
    assert len(calls) == 1

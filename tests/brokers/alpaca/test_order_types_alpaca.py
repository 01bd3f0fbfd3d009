"""AlpacaBroker refuses order types / classes it does not declare, before any request reaches the venue."""

from __future__ import annotations

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import OrderRejected, OrderRequest


def test_unsupported_types_are_refused_before_any_request(alpaca_fake):
    b = AlpacaBroker(alpaca_fake.key, alpaca_fake.secret, base_url=alpaca_fake.url, data_url=alpaca_fake.url, timeout=5)
    assert set(b.capabilities.order_types) == {"market", "limit"} and b.capabilities.order_classes == ("simple",)
    refused = [
        OrderRequest("SPY", 1, "sell", type="stop", stop_price=90.0, client_order_id="t-stop"),
        OrderRequest("SPY", 1, "sell", type="trailing_stop", trail_percent=2.0, client_order_id="t-trail"),
        OrderRequest(
            "SPY", 1, "buy", order_class="bracket", take_profit=120.0, stop_loss=90.0, client_order_id="t-bracket"
        ),
    ]
    before = list(alpaca_fake.requests)
    for order in refused:
        with pytest.raises(
            OrderRejected, match=rf"alpaca: order (type|class) '\w+' is not supported.*{order.client_order_id}"
        ):
            b.submit(order)
    assert alpaca_fake.requests == before  # nothing was sent, not even the duplicate lookup
    assert alpaca_fake.order_posts == 0
    with pytest.raises(OrderRejected, match="replace of order 'x'"):
        b.replace("x", quantity=2)

"""IbkrBroker refuses order types / classes it does not declare, before any message reaches TWS."""

from __future__ import annotations

import pytest

from brokers.base import OrderRejected, OrderRequest
from brokers.ibkr.adapter import IbkrBroker


def test_unsupported_types_are_refused_before_any_message(tws_fake, ib_log):
    b = IbkrBroker(port=tws_fake.port, client_id=7, timeout=3)
    try:
        assert b.capabilities.order_types == ("market", "limit") and b.capabilities.order_classes == ("simple",)
        refused = [
            OrderRequest("SPY", 1, "sell", type="stop_limit", stop_price=90.0, limit_price=89.0, client_order_id="s1"),
            OrderRequest("SPY", 1, "sell", order_class="oco", take_profit=120.0, stop_loss=90.0, client_order_id="o1"),
        ]
        for order in refused:
            with pytest.raises(
                OrderRejected, match=rf"ibkr: order (type|class) '\w+' is not supported.*{order.client_order_id}"
            ):
                b.submit(order)
        assert tws_fake.place_order_msgs == 0 and not any(int(f[0]) == 3 for f in tws_fake.received)
    finally:
        b.close()

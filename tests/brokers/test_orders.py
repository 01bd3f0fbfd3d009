"""OrderRequest's order-type rules (engine.orders.rules): each price present exactly when needed, on the right side."""

from __future__ import annotations

import pytest

from brokers.base import BrokerCapabilities, InvalidOrder, OrderRejected, OrderRequest, check_supported


def test_each_type_takes_exactly_its_prices():
    stop = OrderRequest("SPY", 1, "sell", type="stop", stop_price=95.0)
    assert (stop.stop_price, stop.limit_price, stop.order_class) == (95.0, None, "simple")
    with pytest.raises(InvalidOrder, match=r"order.stop_price: -1"):
        OrderRequest("SPY", 1, "sell", type="stop", stop_price=-1)
    with pytest.raises(InvalidOrder, match=r"order.limit_price: None .*'stop_limit'"):
        OrderRequest("SPY", 1, "sell", type="stop_limit", stop_price=95.0)
    with pytest.raises(InvalidOrder, match=r"order.stop_price: 95.0 given"):
        OrderRequest("SPY", 1, "sell", type="limit", limit_price=99.0, stop_price=95.0)
    with pytest.raises(InvalidOrder, match=r"trail_percent / trail_price: 2.0 / 1.5"):
        OrderRequest("SPY", 1, "sell", type="trailing_stop", trail_percent=2.0, trail_price=1.5)
    with pytest.raises(InvalidOrder, match=r"trail_percent / trail_price: None / None"):
        OrderRequest("SPY", 1, "sell", type="trailing_stop")
    with pytest.raises(InvalidOrder, match=r"order.trail_percent: 100"):
        OrderRequest("SPY", 1, "sell", type="trailing_stop", trail_percent=100)
    with pytest.raises(InvalidOrder, match=r"order.trail_price: 1.5 given"):
        OrderRequest("SPY", 1, "sell", type="stop", stop_price=95.0, trail_price=1.5)
    assert OrderRequest("SPY", 1, "sell", type="trailing_stop", trail_price=1.5).trail_price == 1.5


def test_bracket_and_oco_prices_on_the_right_side():
    buy = OrderRequest(
        "SPY",
        1,
        "buy",
        type="limit",
        limit_price=100.0,
        order_class="bracket",
        take_profit=110.0,
        stop_loss=95.0,
        stop_loss_limit=94.5,
    )
    assert (buy.take_profit, buy.stop_loss, buy.stop_loss_limit) == (110.0, 95.0, 94.5)
    with pytest.raises(InvalidOrder, match=r"order.take_profit: 90.0 must be above stop_loss 95.0"):
        OrderRequest("SPY", 1, "buy", order_class="bracket", take_profit=90.0, stop_loss=95.0)
    with pytest.raises(InvalidOrder, match=r"order.limit_price: 112.0 must lie between"):
        OrderRequest(
            "SPY", 1, "buy", type="limit", limit_price=112.0, order_class="bracket", take_profit=110.0, stop_loss=95.0
        )
    with pytest.raises(InvalidOrder, match=r"order.take_profit: 110.0 must be below stop_loss 95.0"):
        OrderRequest("SPY", 1, "sell", order_class="bracket", take_profit=110.0, stop_loss=95.0)
    with pytest.raises(InvalidOrder, match=r"order.type: 'stop'.*bracket entry"):
        OrderRequest(
            "SPY", 1, "buy", type="stop", stop_price=99.0, order_class="bracket", take_profit=110.0, stop_loss=95.0
        )
    with pytest.raises(InvalidOrder, match=r"order.stop_loss: None"):
        OrderRequest("SPY", 1, "buy", order_class="bracket", take_profit=110.0)
    oco = OrderRequest("SPY", 1, "sell", order_class="oco", take_profit=110.0, stop_loss=95.0)
    assert (oco.type, oco.limit_price) == ("limit", 110.0)  # an OCO is its take-profit limit plus a stop
    with pytest.raises(InvalidOrder, match=r"order.take_profit: 110.0 must be below stop_loss 95.0 \(exit of a short"):
        OrderRequest("SPY", 1, "buy", order_class="oco", take_profit=110.0, stop_loss=95.0)
    with pytest.raises(InvalidOrder, match=r"order.stop_loss_limit: 94.0 .*only on a bracket"):
        OrderRequest("SPY", 1, "sell", order_class="oco", take_profit=110.0, stop_loss=95.0, stop_loss_limit=94.0)
    with pytest.raises(InvalidOrder, match=r"order.order_class: 'otoco'"):
        OrderRequest("SPY", 1, "sell", order_class="otoco")


def test_check_supported_names_what_is_missing():
    caps = BrokerCapabilities(fractional=True, shorting=False, order_types=("market", "limit", "stop"))
    check_supported(OrderRequest("SPY", 1, "sell", type="stop", stop_price=9.0), caps, "venue")
    with pytest.raises(OrderRejected, match=r"venue: order type 'trailing_stop' is not supported"):
        check_supported(OrderRequest("SPY", 1, "sell", type="trailing_stop", trail_percent=1.0), caps, "venue")
    with pytest.raises(OrderRejected, match=r"venue: order class 'oco' is not supported .*\('simple',\)"):
        check_supported(
            OrderRequest("SPY", 1, "sell", order_class="oco", take_profit=11.0, stop_loss=9.0), caps, "venue"
        )

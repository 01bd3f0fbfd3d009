"""IbkrBroker's order types with the real ib_async client against FakeTwsServer: what goes on the wire (read by
field position from placeOrder), how TWS's reports come back as OrderStatus, modify (placeOrder with the same
orderId), cancel, and stops / limits / trailing stops triggered by the fake's trades. Refusals before sending.
"""

from __future__ import annotations

import pytest

from brokers.base import OrderRejected, OrderRequest
from brokers.ibkr.adapter import IbkrBroker
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES
from tests.brokers.ibkr.helpers import by_ref, placed, wait_until

UNSET = 1.7976931348623157e308  # IB's "no value" for a double


@pytest.fixture
def ib(tws_fake, ib_log):
    tws_fake.set_position("SPY", 10, 450.0)  # SPY trades at 500: exits of a long
    b = IbkrBroker(port=tws_fake.port, client_id=7, timeout=3)
    yield b
    b.close()


RESTING = [
    OrderRequest("SPY", 5, "sell", "stop", stop_price=490.0, client_order_id="stp", time_in_force="gtc"),
    OrderRequest("SPY", 5, "sell", "stop_limit", stop_price=490.0, limit_price=489.5, client_order_id="stl"),
    OrderRequest("SPY", 5, "sell", "trailing_stop", trail_percent=2.0, client_order_id="trp"),
    OrderRequest("SPY", 5, "sell", "trailing_stop", trail_price=5.0, client_order_id="tra"),
    OrderRequest("AAPL", 3, "buy", "limit", limit_price=180.0, client_order_id="lmt", time_in_force="gtc"),
]
# what TWS must be sent for each: orderType, lmtPrice, auxPrice, trailingPercent, tif (the TWS API's fields)
WIRE = {
    "stp": ("STP", None, 490.0, None, "GTC"),
    "stl": ("STP LMT", 489.5, 490.0, None, "DAY"),
    "trp": ("TRAIL", None, None, 2.0, "DAY"),
    "tra": ("TRAIL", None, 5.0, None, "DAY"),
    "lmt": ("LMT", 180.0, None, None, "GTC"),
}


def test_capabilities_are_every_type_and_class(ib):
    assert ib.capabilities.order_types == ORDER_TYPES and ib.capabilities.order_classes == ORDER_CLASSES
    assert set(ORDER_TYPES) == {"market", "limit", "stop", "stop_limit", "trailing_stop"}


def test_each_type_placed_reported_modified_and_canceled(ib, tws_fake, ib_log):
    acks = {o.client_order_id: ib.submit(o) for o in RESTING}
    assert {cid: a.status for cid, a in acks.items()} == dict.fromkeys(WIRE, "new")
    sent = {p["ref"]: p for p in placed(tws_fake)}
    for cid, (kind, lmt, aux, pct, tif) in WIRE.items():
        p = sent[cid]
        assert (p["type"], p["lmt"], p["aux"], p["trail_pct"], p["tif"]) == (kind, lmt, aux, pct, tif), cid
        assert (p["transmit"], p["parent_id"], p["oca_group"]) == (True, 0, "")
    rows = {o.client_order_id: o for o in ib.orders("open")}
    got = {
        cid: (o.type, o.limit_price, o.stop_price, o.trail_percent, o.trail_price, o.time_in_force, o.order_class)
        for cid, o in rows.items()
    }
    assert got == {
        "stp": ("stop", None, 490.0, None, None, "gtc", "simple"),
        "stl": ("stop_limit", 489.5, 490.0, None, None, "day", "simple"),
        "trp": ("trailing_stop", None, None, 2.0, None, "day", "simple"),
        "tra": ("trailing_stop", None, None, None, 5.0, "day", "simple"),
        "lmt": ("limit", 180.0, None, None, None, "gtc", "simple"),
    }

    before, created = tws_fake.place_order_msgs, tws_fake.orders_created
    ib.replace(rows["stp"].id, stop_price=485.0)
    ib.replace("stl", stop_price=486.0, limit_price=485.5)
    ib.replace(rows["trp"].id, trail=3.0)  # a percent: the order's own trail unit
    ib.replace("tra", trail=4.0)  # currency
    ack = ib.replace("lmt", quantity=4, limit_price=181.0)
    assert (ack.id, ack.client_order_id, ack.quantity) == (rows["lmt"].id, "lmt", 4)
    # modify = placeOrder again with the SAME orderId: five messages, no new order at TWS
    mods = placed(tws_fake)[-5:]
    first = {p["ref"]: p["order_id"] for p in placed(tws_fake)[:5]}
    assert [p["order_id"] for p in mods] == [first[p["ref"]] for p in mods]
    assert tws_fake.place_order_msgs == before + 5 and tws_fake.orders_created == created
    held = by_ref(tws_fake)
    assert (held["stp"]["aux"], held["stl"]["aux"], held["stl"]["lmt"]) == (485.0, 486.0, 485.5)
    assert (held["trp"]["trail_pct"], held["tra"]["aux"], held["lmt"]["qty"], held["lmt"]["lmt"]) == (3, 4, 4, 181)
    rows = {o.client_order_id: o for o in ib.orders("open")}
    assert (rows["stp"].stop_price, rows["stl"].stop_price, rows["stl"].limit_price) == (485.0, 486.0, 485.5)
    assert (rows["trp"].trail_percent, rows["tra"].trail_price) == (3.0, 4.0)
    assert (rows["lmt"].quantity, rows["lmt"].limit_price, rows["lmt"].status) == (4, 181.0, "new")

    for cid in WIRE:
        ib.cancel(cid)
    assert {o.client_order_id: o.status for o in ib.orders("all")} == dict.fromkeys(WIRE, "canceled")
    assert {r: o["status"] for r, o in by_ref(tws_fake).items()} == dict.fromkeys(WIRE, "Cancelled")
    with pytest.raises(OrderRejected, match=r"order 'stp' is Cancelled, not replaceable"):
        ib.replace("stp", stop_price=480.0)
    assert tws_fake.place_order_msgs == before + 5


def _filled(ib, cid):
    wait_until(lambda: ib.order(cid).status == "filled")
    return ib.order(cid)


def test_stop_and_stop_limit_trigger_on_trades(ib, tws_fake, ib_log):
    ib.submit(RESTING[0])  # sell stop 490
    ib.submit(OrderRequest("AAPL", 2, "buy", "stop", stop_price=210.0, client_order_id="buystop"))
    ib.submit(RESTING[1])  # sell stop 490, limit 489.5
    tws_fake.trade("SPY", 491.0)  # above the stop: nothing
    tws_fake.trade("AAPL", 209.99)
    assert {o.client_order_id for o in ib.orders("open")} == {"stp", "stl", "buystop"}
    tws_fake.trade("SPY", 489.0)  # through 490: the stop fills at the trade; the stop limit arms, 489 < 489.5
    st = _filled(ib, "stp")
    assert (st.filled_quantity, st.avg_fill_price, st.type) == (5, 489.0, "stop")
    assert ib.order("stl").status == "new"
    tws_fake.trade("SPY", 489.75)  # the armed stop limit's limit is reachable now
    assert _filled(ib, "stl").avg_fill_price == 489.75
    tws_fake.trade("AAPL", 210.5)  # a buy stop triggers at or above
    assert _filled(ib, "buystop").avg_fill_price == 210.5
    assert {p.symbol: p.quantity for p in ib.positions()} == {"AAPL": 2}  # 10 SPY sold by the two exits


def test_trailing_stops_follow_the_high(ib, tws_fake, ib_log):
    ib.submit(RESTING[3])  # sell, trail $5 from 500: stop 495
    ib.submit(RESTING[2])  # sell, trail 2 % from 500: stop 490
    for px in (505.0, 512.0, 508.0):  # high 512: stops 507 and 501.76; 508 touches neither
        tws_fake.trade("SPY", px)
    assert {o.client_order_id for o in ib.orders("open")} == {"tra", "trp"}
    assert by_ref(tws_fake)["tra"]["trail_stop"] == 512.0 - 5.0
    tws_fake.trade("SPY", 506.5)  # below 507: the $5 trail fills; 506.5 is above 512 x 0.98
    assert _filled(ib, "tra").avg_fill_price == 506.5
    assert ib.order("trp").status == "new"
    tws_fake.trade("SPY", 501.0)  # below 501.76
    assert _filled(ib, "trp").avg_fill_price == 501.0


def test_resting_buy_limit_fills_when_reached_an_ioc_one_does_not_rest(ib, tws_fake, ib_log):
    ib.submit(OrderRequest("AAPL", 3, "buy", "limit", limit_price=180.0, client_order_id="ioc", time_in_force="ioc"))
    wait_until(lambda: ib.order("ioc").status == "canceled")  # TWS cancels what an IOC order cannot fill at once
    assert placed(tws_fake)[0]["tif"] == "IOC" and ib.order("ioc").time_in_force == "ioc"
    ib.submit(OrderRequest("AAPL", 3, "buy", "limit", limit_price=180.0, client_order_id="lim"))
    tws_fake.trade("AAPL", 185.0)
    assert ib.order("lim").status == "new"
    tws_fake.trade("AAPL", 179.5)
    st = _filled(ib, "lim")
    assert (st.filled_quantity, st.avg_fill_price) == (3, 179.5)


def test_what_ibkr_cannot_take_is_refused_before_anything_is_sent(ib, tws_fake, ib_log):
    refused = [
        (OrderRequest("SPY", 1.5, "buy", order_class="bracket", take_profit=520.0, stop_loss=490.0), "whole shares"),
        (OrderRequest("SPY", 1, "buy", "limit", limit_price=499.995), r"limit_price 499.995 is not a multiple"),
        (OrderRequest("SPY", 1, "sell", order_class="oco", take_profit=520.0, stop_loss=490.001), "stop_loss 490.001"),
        (OrderRequest("SPY", 1, "sell", "trailing_stop", trail_price=0.00005), r"trail_price 5e-05 .* 0.0001 tick"),
    ]
    for order, why in refused:
        with pytest.raises(OrderRejected, match=rf"^ibkr: .*{why}.*order {order.client_order_id} not sent$"):
            ib.submit(order)
    assert tws_fake.place_order_msgs == 0 and not any(int(f[0]) == 3 for f in tws_fake.received)

    ib.submit(RESTING[0])
    for kwargs, why in [
        ({"limit_price": 480.0}, "a STP order has no limit_price"),
        ({"trail": 1.0}, "a STP order has no trail"),
        ({"quantity": 2.5}, "quantity 2.5 must be a whole number"),
        ({"stop_price": 485.001}, "stop_price 485.001 is not a multiple of the 0.01 tick"),
        ({}, "nothing to change"),
    ]:
        with pytest.raises(OrderRejected, match=rf"replace of order 'stp': {why}"):
            ib.replace("stp", **kwargs)
    with pytest.raises(OrderRejected, match="no order 'nope' to replace"):
        ib.replace("nope", stop_price=480.0)
    assert tws_fake.place_order_msgs == 1

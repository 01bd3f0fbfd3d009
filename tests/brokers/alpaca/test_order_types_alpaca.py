"""AlpacaBroker sends every order type through the real alpaca-py client to the fake Alpaca service: place,
modify (replace) and cancel each; what Alpaca cannot take is refused before any request reaches the venue."""

from __future__ import annotations

from typing import Any

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import OrderRejected, OrderRequest
from engine.orders.rules import ORDER_CLASSES, ORDER_TYPES


def _broker(fake) -> AlpacaBroker:
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5)


def test_capabilities_declare_every_type_and_class(alpaca_fake):
    caps = _broker(alpaca_fake).capabilities
    assert caps.order_types == ORDER_TYPES and caps.order_classes == ORDER_CLASSES


# (order fields, replace arguments, the fake's field that must change, its new value); SPY trades at 500
RESTING: dict[str, tuple[dict[str, Any], dict[str, float], str, float]] = {
    "limit": ({"type": "limit", "side": "buy", "limit_price": 450.0}, {"limit_price": 460.0}, "limit", 460.0),
    "stop": ({"type": "stop", "side": "sell", "stop_price": 480.0}, {"stop_price": 470.0}, "stop", 470.0),
    "stop_limit": (
        {"type": "stop_limit", "side": "sell", "stop_price": 480.0, "limit_price": 475.0},
        {"limit_price": 474.0},
        "limit",
        474.0,
    ),
    "trail_percent": (
        {"type": "trailing_stop", "side": "sell", "trail_percent": 2.0},
        {"trail": 3.0},
        "trail_percent",
        3.0,
    ),
    "trail_price": ({"type": "trailing_stop", "side": "sell", "trail_price": 5.0}, {"trail": 6.0}, "trail_price", 6.0),
}


@pytest.mark.parametrize("case", sorted(RESTING))
def test_each_resting_type_is_placed_replaced_and_canceled(alpaca_fake, case):
    fields, change, fake_field, new_value = RESTING[case]
    b = _broker(alpaca_fake)
    ack = b.submit(OrderRequest("SPY", 4, time_in_force="gtc", client_order_id=f"t-{case}", **fields))
    sent = alpaca_fake.find(ack.id)
    assert sent is not None and sent["type"] == fields["type"] and sent["tif"] == "gtc" and sent["qty"] == 4.0
    for name, field in (("limit_price", "limit"), ("trail_percent", "trail_percent"), ("trail_price", "trail_price")):
        assert sent[field] == fields.get(name)
    st = b.order(f"t-{case}")
    assert st is not None and st.status == "new" and st.type == fields["type"] and st.time_in_force == "gtc"
    assert (st.limit_price, st.trail_percent, st.trail_price) == (
        fields.get("limit_price"),
        fields.get("trail_percent"),
        fields.get("trail_price"),
    )
    if fields["type"] == "trailing_stop":  # Alpaca reports the current stop of a trailing stop
        expected = (
            500 * (1 - fields["trail_percent"] / 100) if "trail_percent" in fields else 500 - fields["trail_price"]
        )
        assert st.stop_price == pytest.approx(expected)
    else:
        assert st.stop_price == fields.get("stop_price")

    new = b.replace(ack.id, quantity=5, **change)
    assert new.id != ack.id and new.client_order_id == f"t-{case}-r1" and new.quantity == 5.0 and not new.duplicate
    old, repl = alpaca_fake.find(ack.id), alpaca_fake.find(new.id)
    assert old["status"] == "replaced" and old["replaced_by"] == new.id and repl["replaces"] == ack.id
    assert repl[fake_field] == new_value and repl["qty"] == 5.0 and repl["type"] == fields["type"]
    before = b.order(f"t-{case}")
    assert before is not None and before.status == "canceled" and before.reason == f"replaced by order {new.id}"
    assert [o.id for o in b.orders("open")] == [new.id]

    b.cancel(new.id)
    assert alpaca_fake.find(new.id)["status"] == "canceled"
    assert b.orders("open") == [] and alpaca_fake.patches == 1 and alpaca_fake.order_posts == 1


def test_market_order_fills_and_can_be_neither_replaced_nor_canceled(alpaca_fake):
    b = _broker(alpaca_fake)
    ack = b.submit(OrderRequest("SPY", 2, "buy", client_order_id="t-mkt"))
    assert ack.status == "filled" and alpaca_fake.positions["SPY"] == {"qty": 2.0, "avg": 500.0}
    with pytest.raises(OrderRejected, match=rf"alpaca replace {ack.id}: the order is 'filled', not open"):
        b.replace(ack.id, quantity=3)
    with pytest.raises(OrderRejected, match=r'already in "filled" state'):
        b.cancel(ack.id)
    assert alpaca_fake.patches == 0


REFUSED = [
    (
        {"order_class": "bracket", "take_profit": 550.0, "stop_loss": 480.0},
        1.5,
        "gtc",
        r"quantity 1\.5: a bracket market",
    ),
    ({"type": "stop", "stop_price": 480.0}, 0.25, "day", r"quantity 0\.25: a simple stop order needs whole"),
    ({"type": "trailing_stop", "trail_percent": 2.0}, 1, "ioc", r"time_in_force 'ioc': a simple trailing_stop"),
    ({"order_class": "bracket", "take_profit": 550.0, "stop_loss": 480.0}, 1, "fok", r"time_in_force 'fok'"),
    ({"type": "limit", "limit_price": 450.0}, 0.5, "gtc", r"quantity 0\.5: fractional orders must be day orders"),
]


@pytest.mark.parametrize(("fields", "qty", "tif", "why"), REFUSED)
def test_what_alpaca_cannot_take_is_refused_before_any_request(alpaca_fake, fields, qty, tif, why):
    b = _broker(alpaca_fake)
    before = list(alpaca_fake.requests)
    order = OrderRequest("SPY", qty, "buy", time_in_force=tif, client_order_id="t-refused", **fields)
    with pytest.raises(OrderRejected, match=rf"^alpaca: {why}.*; order t-refused not sent$"):
        b.submit(order)
    assert alpaca_fake.requests == before  # nothing was sent, not even the duplicate lookup
    assert alpaca_fake.order_posts == 0


def test_a_fractional_day_limit_is_sent(alpaca_fake):
    ack = _broker(alpaca_fake).submit(OrderRequest("SPY", 0.5, "buy", type="limit", limit_price=450.0))
    assert alpaca_fake.find(ack.id)["qty"] == 0.5 and ack.status == "new"

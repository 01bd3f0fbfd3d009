"""Brackets, OCO pairs and trailing stops through AlpacaBroker and the real alpaca-py client against the fake
Alpaca service: the JSON Alpaca documents goes out, the legs come back flattened (parent <-> legs), and trades
(`fake.trade`) trigger the exits as Alpaca does: one exit filling cancels the other."""

from __future__ import annotations

from typing import Any

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import OrderRequest, OrderStatus


def _broker(fake) -> AlpacaBroker:
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5)


def _status(b: AlpacaBroker, client_order_id: str) -> OrderStatus:
    st = b.order(client_order_id)
    assert st is not None, client_order_id
    return st


def _bracket(b: AlpacaBroker, cid: str = "br-1", **kw: Any) -> str:
    fields: dict[str, Any] = {
        "order_class": "bracket",
        "take_profit": 550.0,
        "stop_loss": 480.0,
        "time_in_force": "gtc",
    } | kw
    return b.submit(OrderRequest("SPY", 10, "buy", client_order_id=cid, **fields)).id


def test_bracket_goes_out_as_alpaca_documents_and_lists_its_legs(alpaca_fake):
    b = _broker(alpaca_fake)
    parent = _bracket(b, stop_loss_limit=478.0)
    body = alpaca_fake.posted[-1]
    assert body["order_class"] == "bracket" and body["type"] == "market" and body["time_in_force"] == "gtc"
    assert body["take_profit"] == {"limit_price": 550.0}
    assert body["stop_loss"] == {"stop_price": 480.0, "limit_price": 478.0}
    assert alpaca_fake.positions["SPY"] == {"qty": 10.0, "avg": 500.0}  # the market entry filled at 500
    tp_id, sl_id = alpaca_fake.find(parent)["legs"]
    assert (alpaca_fake.find(tp_id)["status"], alpaca_fake.find(sl_id)["status"]) == ("new", "held")

    open_ = {o.id: o for o in b.orders("open")}
    assert set(open_) == {tp_id, sl_id}  # "held" is open; the filled entry is not
    tp, sl = open_[tp_id], open_[sl_id]
    assert (tp.type, tp.side, tp.limit_price, tp.order_class, tp.parent_id) == (
        "limit",
        "sell",
        550.0,
        "bracket",
        parent,
    )
    assert (sl.type, sl.stop_price, sl.limit_price, sl.parent_id, sl.quantity) == (
        "stop_limit",
        480.0,
        478.0,
        parent,
        10.0,
    )
    (top,) = [o for o in b.orders("all") if o.id == parent]
    assert top.legs == (tp_id, sl_id) and top.status == "filled" and top.parent_id == "" and top.time_in_force == "gtc"
    assert _status(b, "br-1").legs == (tp_id, sl_id)


def test_bracket_stop_triggering_cancels_the_take_profit(alpaca_fake):
    b = _broker(alpaca_fake)
    parent = _bracket(b)
    tp_id, sl_id = alpaca_fake.find(parent)["legs"]
    alpaca_fake.trade("SPY", 490.0)  # between the exits: nothing happens
    assert {o.id for o in b.orders("open")} == {tp_id, sl_id}
    alpaca_fake.trade("SPY", 479.0)  # through the stop at 480: a market sell at 479
    st = {o.id: o for o in b.orders("all")}
    assert (st[sl_id].status, st[sl_id].filled_quantity, st[sl_id].avg_fill_price) == ("filled", 10.0, 479.0)
    assert st[tp_id].status == "canceled" and b.orders("open") == []
    assert "SPY" not in alpaca_fake.positions
    assert alpaca_fake.cash == pytest.approx(100_000 - 10 * 500 + 10 * 479)


def test_bracket_take_profit_filling_cancels_the_stop(alpaca_fake):
    b = _broker(alpaca_fake)
    parent = _bracket(b)
    tp_id, sl_id = alpaca_fake.find(parent)["legs"]
    alpaca_fake.trade("SPY", 549.0)
    assert alpaca_fake.find(tp_id)["status"] == "new"
    alpaca_fake.trade("SPY", 551.0)  # the sell limit at 550 is marketable: filled at the trade, 551
    st = {o.id: o for o in b.orders("all")}
    assert (st[tp_id].status, st[tp_id].avg_fill_price) == ("filled", 551.0)
    assert st[sl_id].status == "canceled" and "SPY" not in alpaca_fake.positions
    assert alpaca_fake.cash == pytest.approx(100_000 + 10 * (551 - 500))


def test_limit_entry_holds_its_legs_until_it_fills_and_a_leg_can_be_replaced(alpaca_fake):
    b = _broker(alpaca_fake)
    parent = _bracket(b, "br-lim", type="limit", limit_price=490.0)
    tp_id, sl_id = alpaca_fake.find(parent)["legs"]
    assert [alpaca_fake.find(i)["status"] for i in (parent, tp_id, sl_id)] == ["new", "held", "held"]
    assert {o.id: o.status for o in b.orders("open")} == {parent: "new", tp_id: "new", sl_id: "new"}
    alpaca_fake.trade("SPY", 560.0)  # the take-profit (550) is not working before the entry fills ...
    assert [alpaca_fake.find(i)["status"] for i in (parent, tp_id, sl_id)] == ["new", "held", "held"]
    alpaca_fake.trade("SPY", 489.0)  # ... the entry fills at 489; the exits work from now on
    assert alpaca_fake.find(parent)["status"] == "filled" and alpaca_fake.find(tp_id)["status"] == "new"

    new_tp = b.replace(tp_id, limit_price=520.0)  # the take-profit leg moves down
    assert alpaca_fake.find(tp_id)["status"] == "replaced" and alpaca_fake.find(new_tp.id)["parent"] == parent
    (leg,) = [o for o in b.orders("open") if o.id == new_tp.id]
    assert leg.parent_id == parent and leg.limit_price == 520.0
    alpaca_fake.trade("SPY", 521.0)
    assert alpaca_fake.find(new_tp.id)["status"] == "filled" and alpaca_fake.find(sl_id)["status"] == "canceled"
    assert "SPY" not in alpaca_fake.positions


def test_canceling_an_unfilled_bracket_cancels_its_legs(alpaca_fake):
    b = _broker(alpaca_fake)
    parent = _bracket(b, "br-cx", type="limit", limit_price=490.0)
    b.cancel(parent)
    assert all(alpaca_fake.find(i)["status"] == "canceled" for i in [parent, *alpaca_fake.find(parent)["legs"]])
    assert b.orders("open") == []


def test_submitting_a_bracket_twice_places_it_once(alpaca_fake):
    b = _broker(alpaca_fake)
    first = b.submit(
        OrderRequest(
            "SPY", 10, "buy", order_class="bracket", take_profit=550.0, stop_loss=480.0, client_order_id="br-2"
        )
    )
    again = b.submit(
        OrderRequest(
            "SPY", 10, "buy", order_class="bracket", take_profit=550.0, stop_loss=480.0, client_order_id="br-2"
        )
    )
    assert again == first and again.duplicate and alpaca_fake.order_posts == 1
    assert alpaca_fake.positions["SPY"]["qty"] == 10.0


def test_oco_exit_pair_stop_side(alpaca_fake):
    alpaca_fake.set_position("SPY", 10, 450.0)
    b = _broker(alpaca_fake)
    ack = b.submit(
        OrderRequest(
            "SPY",
            10,
            "sell",
            order_class="oco",
            take_profit=550.0,
            stop_loss=480.0,
            time_in_force="gtc",
            client_order_id="oco-1",
        )
    )
    body = alpaca_fake.posted[-1]
    assert body["order_class"] == "oco" and body["type"] == "limit" and "limit_price" not in body
    assert body["take_profit"] == {"limit_price": 550.0} and body["stop_loss"] == {"stop_price": 480.0}
    (stop_id,) = alpaca_fake.find(ack.id)["legs"]
    st = {o.id: o for o in b.orders("open")}
    assert (st[ack.id].type, st[ack.id].limit_price, st[ack.id].order_class, st[ack.id].legs) == (
        "limit",
        550.0,
        "oco",
        (stop_id,),
    )
    assert (st[stop_id].type, st[stop_id].stop_price, st[stop_id].side, st[stop_id].parent_id) == (
        "stop",
        480.0,
        "sell",
        ack.id,
    )
    alpaca_fake.trade("SPY", 481.0)
    assert len(b.orders("open")) == 2
    alpaca_fake.trade("SPY", 478.5)
    assert alpaca_fake.find(stop_id)["status"] == "filled" and alpaca_fake.find(ack.id)["status"] == "canceled"
    assert "SPY" not in alpaca_fake.positions and alpaca_fake.cash == pytest.approx(100_000 + 10 * 478.5)


def test_oco_exit_pair_take_profit_side(alpaca_fake):
    alpaca_fake.set_position("SPY", -5, 520.0)  # a short: its OCO exit buys
    b = _broker(alpaca_fake)
    ack = b.submit(
        OrderRequest("SPY", 5, "buy", order_class="oco", take_profit=450.0, stop_loss=530.0, client_order_id="oco-2")
    )
    (stop_id,) = alpaca_fake.find(ack.id)["legs"]
    alpaca_fake.trade("SPY", 449.0)
    assert alpaca_fake.find(ack.id)["status"] == "filled" and alpaca_fake.find(stop_id)["status"] == "canceled"
    assert "SPY" not in alpaca_fake.positions and alpaca_fake.cash == pytest.approx(100_000 - 5 * 449.0)


def test_open_legs_are_listed_even_when_alpaca_filters_nested_groups_by_parent(alpaca_fake):
    alpaca_fake.nested_filter = "parent"  # the filled entry hides its open legs from the nested "open" answer
    b = _broker(alpaca_fake)
    parent = _bracket(b)
    assert {o.id for o in b.orders("open")} == set(alpaca_fake.find(parent)["legs"])


def test_trailing_sell_stop_follows_the_high_and_fires_at_hwm_less_the_percent(alpaca_fake):
    alpaca_fake.set_position("SPY", 10, 500.0)
    b = _broker(alpaca_fake)
    ack = b.submit(OrderRequest("SPY", 10, "sell", type="trailing_stop", trail_percent=5.0, client_order_id="trail-1"))
    prices = [520.0, 540.0, 530.0, 514.0]
    for p in prices:
        alpaca_fake.trade("SPY", p)
    hwm = max([500.0, *prices])
    stop = hwm * (1 - 0.05)  # 513.0
    st = _status(b, "trail-1")
    assert st.status == "new" and st.stop_price == pytest.approx(stop) and alpaca_fake.find(ack.id)["hwm"] == hwm
    alpaca_fake.trade("SPY", 512.0)  # below 513: fires as a market sell
    st = _status(b, "trail-1")
    assert (st.status, st.filled_quantity, st.avg_fill_price) == ("filled", 10.0, 512.0)
    assert "SPY" not in alpaca_fake.positions


def test_trailing_buy_stop_follows_the_low(alpaca_fake):
    alpaca_fake.set_position("SPY", -4, 500.0)
    b = _broker(alpaca_fake)
    ack = b.submit(OrderRequest("SPY", 4, "buy", type="trailing_stop", trail_price=4.0, client_order_id="trail-2"))
    for p in (490.0, 480.0, 483.0):  # low 480: the stop is 484
        alpaca_fake.trade("SPY", p)
    assert _status(b, "trail-2").stop_price == pytest.approx(484.0) and alpaca_fake.find(ack.id)["hwm"] == 480.0
    alpaca_fake.trade("SPY", 485.0)
    assert _status(b, "trail-2").avg_fill_price == 485.0 and "SPY" not in alpaca_fake.positions

"""IbkrBroker's bracket and OCO orders with the real ib_async client against FakeTwsServer: the TWS API family
on the wire (parent transmit=False, children with parentId, the last child transmits, OCA groups), the legs as
OrderStatus, one exit filling cancels the other, modify of a leg, and retries that send nothing twice.
"""

from __future__ import annotations

import pytest

from brokers.base import BrokerUnavailable, OrderRequest, retry
from brokers.ibkr.adapter import IbkrBroker
from brokers.ibkr.orders import leg_ref
from tests.brokers.ibkr.helpers import by_ref, placed, wait_until


@pytest.fixture
def ib(tws_fake, ib_log):
    b = IbkrBroker(port=tws_fake.port, client_id=7, timeout=3)
    yield b
    b.close()


def bracket(cid: str, entry_limit: float | None = None, **kw) -> OrderRequest:
    """Buy 10 SPY (at 500), take profit 520, stop loss 490."""
    kind = "limit" if entry_limit is not None else "market"
    return OrderRequest(
        "SPY", 10, "buy", kind, limit_price=entry_limit, order_class="bracket", take_profit=520.0,
        stop_loss=490.0, client_order_id=cid, **kw,
    )  # fmt: skip


def status(ib, cid):
    return ib.order(cid).status


def test_bracket_on_the_wire_and_as_order_status(ib, tws_fake, ib_log):
    ack = ib.submit(bracket("br1", time_in_force="gtc"))
    assert (ack.client_order_id, ack.status, ack.quantity) == ("br1", "filled", 10)  # market entry at 500
    entry, tp, sl = placed(tws_fake)
    assert [p["ref"] for p in (entry, tp, sl)] == ["br1", "br1/tp", "br1/sl"]
    assert (entry["type"], entry["action"], entry["transmit"], entry["parent_id"], entry["oca_group"]) == (
        "MKT", "BUY", False, 0, "",
    )  # fmt: skip
    assert (tp["type"], tp["action"], tp["lmt"], tp["transmit"]) == ("LMT", "SELL", 520.0, False)
    assert (sl["type"], sl["action"], sl["aux"], sl["transmit"]) == ("STP", "SELL", 490.0, True)
    for leg in (tp, sl):
        assert (leg["parent_id"], leg["oca_group"], leg["oca_type"], leg["qty"]) == (entry["order_id"], "br1", 2, 10)
    assert {p["tif"] for p in (entry, tp, sl)} == {"GTC"}

    rows = {o.client_order_id: o for o in ib.orders("all")}
    parent = rows["br1"]
    assert (parent.order_class, parent.parent_id, parent.status) == ("bracket", "", "filled")
    assert sorted(parent.legs) == sorted([rows["br1/tp"].id, rows["br1/sl"].id])
    for cid, kind, lp, sp in [("br1/tp", "limit", 520.0, None), ("br1/sl", "stop", None, 490.0)]:
        leg = rows[cid]
        assert (leg.order_class, leg.parent_id, leg.side, leg.type, leg.status) == (
            "bracket", parent.id, "sell", kind, "new",
        )  # fmt: skip
        assert (leg.limit_price, leg.stop_price, leg.time_in_force) == (lp, sp, "gtc")


def test_bracket_stop_fills_and_cancels_the_take_profit(ib, tws_fake, ib_log):
    ib.submit(bracket("br2"))
    tws_fake.trade("SPY", 495.0)
    assert {o.client_order_id for o in ib.orders("open")} == {"br2/tp", "br2/sl"}
    tws_fake.trade("SPY", 489.0)
    wait_until(lambda: status(ib, "br2/tp") == "canceled")
    sl = ib.order("br2/sl")
    assert (sl.status, sl.filled_quantity, sl.avg_fill_price) == ("filled", 10, 489.0)
    assert by_ref(tws_fake)["br2/tp"]["status"] == "Cancelled" and ib.positions() == []
    assert ib.orders("open") == []


def test_bracket_children_wait_for_the_entry_then_take_profit_cancels_the_stop(ib, tws_fake, ib_log):
    ack = ib.submit(bracket("br3", entry_limit=499.0))
    assert ack.status == "new"  # 500 > 499: the entry rests
    assert {r: o["status"] for r, o in by_ref(tws_fake).items()} == {
        "br3": "Submitted", "br3/tp": "PreSubmitted", "br3/sl": "PreSubmitted",
    }  # fmt: skip
    tws_fake.trade("SPY", 530.0)  # above the take-profit, but the children wait for the entry
    assert {r: o["filled"] for r, o in by_ref(tws_fake).items()} == {"br3": 0, "br3/tp": 0, "br3/sl": 0}
    tws_fake.trade("SPY", 495.0)  # the entry fills here, at 495
    wait_until(lambda: status(ib, "br3") == "filled")
    assert ib.order("br3").avg_fill_price == 495.0
    assert {status(ib, "br3/tp"), status(ib, "br3/sl")} == {"new"}  # working from now on; 495 reaches neither
    assert by_ref(tws_fake)["br3/sl"]["status"] == "Submitted"
    tws_fake.trade("SPY", 521.0)
    wait_until(lambda: status(ib, "br3/sl") == "canceled")
    tp = ib.order("br3/tp")
    assert (tp.status, tp.avg_fill_price) == ("filled", 521.0) and ib.positions() == []


def test_bracket_leg_modify_and_parent_cancel_cascades(ib, tws_fake, ib_log):
    ib.submit(bracket("br4", entry_limit=499.0))
    before = tws_fake.place_order_msgs
    ack = ib.replace("br4/sl", stop_price=480.0)
    assert ack.client_order_id == "br4/sl" and ib.order("br4/sl").stop_price == 480.0
    mod = placed(tws_fake)[-1]
    assert (mod["ref"], mod["aux"], mod["transmit"], mod["parent_id"]) == (
        "br4/sl", 480.0, True, placed(tws_fake)[0]["order_id"],
    )  # fmt: skip
    assert tws_fake.place_order_msgs == before + 1 and by_ref(tws_fake)["br4/sl"]["aux"] == 480.0
    ib.cancel("br4")  # TWS cancels the children with their parent; cancel waits for them too
    assert {o.client_order_id: o.status for o in ib.orders("all")} == dict.fromkeys(
        ["br4", "br4/tp", "br4/sl"], "canceled"
    )
    assert {o["status"] for o in by_ref(tws_fake).values()} == {"Cancelled"}


def test_oco_on_the_wire_and_each_side_cancels_the_other(ib, tws_fake, ib_log):
    tws_fake.set_position("SPY", 20, 450.0)
    for cid in ("oco1", "oco2"):
        ack = ib.submit(OrderRequest("SPY", 10, "sell", order_class="oco", take_profit=520.0, stop_loss=490.0,
                                     client_order_id=cid))  # fmt: skip
        assert ack.status == "new"
    tp, sl = placed(tws_fake)[:2]
    assert [(p["ref"], p["type"], p["lmt"], p["aux"]) for p in (tp, sl)] == [
        ("oco1", "LMT", 520.0, None),
        ("oco1/sl", "STP", None, 490.0),
    ]
    for p in (tp, sl):  # one OCA group, type 1 (cancel the rest with block), both transmitted, no parent
        assert (p["oca_group"], p["oca_type"], p["transmit"], p["parent_id"], p["action"]) == (
            "oco1", 1, True, 0, "SELL",
        )  # fmt: skip
    rows = {o.client_order_id: o for o in ib.orders("open")}
    assert (rows["oco1"].order_class, rows["oco1"].type, rows["oco1"].legs) == ("oco", "limit", (rows["oco1/sl"].id,))
    assert (rows["oco1/sl"].order_class, rows["oco1/sl"].parent_id) == ("oco", rows["oco1"].id)

    tws_fake.trade("SPY", 521.0)  # both take-profits fill, both stops are cancelled
    wait_until(lambda: {status(ib, "oco1/sl"), status(ib, "oco2/sl")} == {"canceled"})
    for cid in ("oco1", "oco2"):
        assert (status(ib, cid), ib.order(cid).avg_fill_price) == ("filled", 521.0)
    tws_fake.set_position("SPY", 10, 450.0)
    tws_fake.trade("SPY", 505.0)  # back between the two exits
    ib.submit(OrderRequest("SPY", 10, "sell", order_class="oco", take_profit=520.0, stop_loss=490.0,
                           client_order_id="oco3"))  # fmt: skip
    tws_fake.trade("SPY", 489.5)
    wait_until(lambda: status(ib, "oco3") == "canceled")
    assert (status(ib, "oco3/sl"), ib.order("oco3/sl").avg_fill_price) == ("filled", 489.5)
    assert by_ref(tws_fake)["oco3"]["status"] == "Cancelled"


def test_retried_bracket_sends_nothing_new_even_from_another_client(ib, tws_fake, ib_log):
    order = bracket("br5", entry_limit=499.0)
    first = ib.submit(order)
    assert tws_fake.place_order_msgs == 3 and tws_fake.orders_created == 3
    again = ib.submit(order)
    assert again == first and again.duplicate
    other = IbkrBroker(port=tws_fake.port, client_id=8, timeout=3)
    try:
        assert other.submit(order).duplicate
    finally:
        other.close()
    assert tws_fake.place_order_msgs == 3 and tws_fake.orders_created == 3


def test_dropped_connection_mid_oco_retry_sends_only_the_missing_leg(ib, tws_fake, ib_log):
    ib_log.allow(r"Peer closed connection", r"Broken pipe", r"Connection reset")  # the client wrote after the close
    tws_fake.set_position("SPY", 10, 450.0)
    tws_fake.drop_on_order = 1  # TWS takes the take-profit, then the socket closes: the stop never arrives
    order = OrderRequest("SPY", 10, "sell", order_class="oco", take_profit=520.0, stop_loss=490.0,
                         client_order_id="oco-drop")  # fmt: skip
    with pytest.raises(BrokerUnavailable, match="connection lost"):
        ib.submit(order)
    assert [p["ref"] for p in placed(tws_fake)] == ["oco-drop"]
    ack = retry(lambda: ib.submit(order), attempts=3, backoff=0.05)
    assert (ack.client_order_id, ack.duplicate) == ("oco-drop", False)
    assert [p["ref"] for p in placed(tws_fake)] == ["oco-drop", "oco-drop/sl"]
    assert placed(tws_fake)[1]["oca_group"] == "oco-drop" and tws_fake.orders_created == 2
    assert ib.submit(order).duplicate and tws_fake.place_order_msgs == 2
    tws_fake.trade("SPY", 489.0)
    wait_until(lambda: status(ib, "oco-drop") == "canceled")


def test_dropped_connection_mid_bracket_nothing_was_transmitted_so_the_retry_sends_all(ib, tws_fake, ib_log):
    ib_log.allow(r"Peer closed connection", r"Broken pipe", r"Connection reset")  # the client wrote after the close
    tws_fake.drop_on_order = 1  # the entry (transmit=False) arrives, the socket closes: TWS transmitted nothing
    order = bracket("br-drop", entry_limit=499.0)
    with pytest.raises(BrokerUnavailable):
        ib.submit(order)
    assert tws_fake.orders_created == 0 and tws_fake.orders == {}
    ack = retry(lambda: ib.submit(order), attempts=3, backoff=0.05)
    assert ack.status == "new" and not ack.duplicate
    assert sorted(o["ref"] for o in tws_fake.orders.values()) == ["br-drop", "br-drop/sl", "br-drop/tp"]
    assert tws_fake.orders_created == 3


def test_leg_refs_stay_within_64_characters():
    cid = "prot-" + "x" * 59
    refs = {leg_ref(cid, t) for t in ("tp", "sl")}
    assert len(refs) == 2 and all(len(r) <= 64 and r.startswith("prot-xxx") for r in refs)
    assert leg_ref("abc", "tp") == "abc/tp" and leg_ref(cid, "tp") == leg_ref(cid, "tp")
    assert leg_ref(cid, "tp") != leg_ref(cid[:-1] + "y", "tp")


def test_cancel_an_oco_cancels_both_legs(ib, tws_fake, ib_log):
    tws_fake.set_position("SPY", 10, 450.0)
    ib.submit(OrderRequest("SPY", 10, "sell", order_class="oco", take_profit=520.0, stop_loss=490.0,
                           client_order_id="oco-c"))  # fmt: skip
    ib.cancel("oco-c")  # the take-profit and, sent its own cancelOrder, the stop in its OCA group
    assert (status(ib, "oco-c"), status(ib, "oco-c/sl")) == ("canceled", "canceled")
    assert {o["status"] for o in by_ref(tws_fake).values()} == {"Cancelled"}
    cancels = [int(f[2]) for f in tws_fake.received if int(f[0]) == 4]
    assert sorted(cancels) == sorted(p["order_id"] for p in placed(tws_fake))


def test_families_read_back_from_completed_orders_by_a_new_connection(ib, tws_fake, ib_log):
    ib.submit(bracket("br6"))
    tws_fake.trade("SPY", 521.0)  # take-profit fills, the stop is cancelled: all three are completed orders
    wait_until(lambda: status(ib, "br6/sl") == "canceled")
    later = IbkrBroker(port=tws_fake.port, client_id=9, timeout=3)  # e.g. after a restart: no parentId now
    try:
        rows = {o.client_order_id: o for o in later.orders("all")}
    finally:
        later.close()
    assert set(rows) == {"br6", "br6/tp", "br6/sl"}
    assert (rows["br6"].order_class, sorted(rows["br6"].legs)) == (
        "bracket",
        sorted([rows["br6/tp"].id, rows["br6/sl"].id]),
    )
    assert {(rows[c].order_class, rows[c].parent_id) for c in ("br6/tp", "br6/sl")} == {("bracket", rows["br6"].id)}
    assert (rows["br6/tp"].status, rows["br6/tp"].limit_price, rows["br6/sl"].status) == ("filled", 520.0, "canceled")

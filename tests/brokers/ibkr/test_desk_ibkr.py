"""Flatten and the desk's position P&L with the real ib_async client against FakeTwsServer."""

from __future__ import annotations

import pytest

from brokers.base import OrderRejected, OrderRequest
from brokers.desk import modify_order, positions_view
from brokers.flatten import flatten
from brokers.ibkr.adapter import IbkrBroker
from engine.ops.audit_log import AuditLog


@pytest.fixture
def ib(tws_fake, ib_log):
    b = IbkrBroker(port=tws_fake.port, client_id=11, timeout=3)
    yield b
    b.close()


def _book(fake, b):
    """Long SPY 10 @ 480, short QQQ 5 @ 420 (prices 500 / 400), two resting limit orders."""
    fake.set_position("SPY", 10, 480.0)
    fake.set_position("QQQ", -5, 420.0)
    b.submit(OrderRequest("AAPL", 3, "buy", "limit", limit_price=150.0, client_order_id="lim-AAPL"))
    b.submit(OrderRequest("SPY", 2, "sell", "limit", limit_price=600.0, client_order_id="lim-SPY"))


def test_positions_pnl_by_hand(ib, tws_fake):
    _book(tws_fake, ib)
    summary, frame = positions_view(ib)
    assert summary["gross_exposure"] == pytest.approx(10 * 500.0 + 5 * 400.0)
    assert summary["net_exposure"] == pytest.approx(10 * 500.0 - 5 * 400.0)
    rows = frame.set_index("symbol")
    assert rows.loc["SPY", "unrealized_pnl"] == pytest.approx(10 * (500.0 - 480.0))
    assert rows.loc["QQQ", "unrealized_pnl"] == pytest.approx(-5 * (400.0 - 420.0))
    assert (rows.loc["SPY", "open_orders"], rows.loc["QQQ", "open_orders"]) == (1, 0)


def test_flatten_long_short_and_limits_then_noop(ib, tws_fake):
    _book(tws_fake, ib)
    rep = flatten(ib, timeout=5, poll=0.05)
    assert rep.status == "flat" and rep.sent == 2, rep.summary()
    assert sorted(r["client_order_id"] for r in rep.canceled) == ["lim-AAPL", "lim-SPY"]
    assert tws_fake.positions == {}
    placed = {o["ref"]: o for o in tws_fake.orders.values()}
    assert placed["lim-AAPL"]["status"] == placed["lim-SPY"]["status"] == "Cancelled"
    spy, qqq = placed[f"{rep.run_id}-SPY"], placed[f"{rep.run_id}-QQQ"]
    assert (spy["action"], spy["qty"], spy["type"], spy["status"]) == ("SELL", 10.0, "MKT", "Filled")
    assert (qqq["action"], qqq["qty"], qqq["status"]) == ("BUY", 5.0, "Filled")
    assert AuditLog().events(plan_id=rep.run_id, kind="fill").shape[0] == 2

    created = tws_fake.orders_created
    again = flatten(ib, timeout=5, poll=0.05)
    assert again.status == "flat" and again.sent == 0 and again.canceled == []
    assert tws_fake.orders_created == created


def test_flatten_interrupted_by_a_dropped_connection_resumes(ib, tws_fake, ib_log):
    ib_log.allow(r"Peer closed connection")
    _book(tws_fake, ib)
    tws_fake.drop_on_order = tws_fake.place_order_msgs + 1  # the first close fills, then the socket closes
    first = flatten(ib, timeout=5, poll=0.05, attempts=1)
    assert first.status == "interrupted" and "BrokerUnavailable" in first.errors[0]
    assert len(tws_fake.positions) == 1  # one of the two closed, the other not yet
    second = flatten(ib, timeout=5, poll=0.05)
    assert second.resumed and second.run_id == first.run_id and second.status == "flat", second.summary()
    assert second.sent == 1 and tws_fake.positions == {}
    closes = sorted(o["ref"] for o in tws_fake.orders.values() if o["ref"].startswith(first.run_id))
    assert closes == [f"{first.run_id}-QQQ", f"{first.run_id}-SPY"]  # each close sent once


def test_desk_modify_of_a_bracket_leg_keeps_the_sides(ib, tws_fake, ib_log):
    ib.submit(
        OrderRequest("SPY", 10, "buy", "limit", limit_price=499.0, order_class="bracket", take_profit=520.0,
                     stop_loss=490.0, client_order_id="dk-br")
    )  # fmt: skip
    sent = tws_fake.place_order_msgs
    with pytest.raises(OrderRejected, match="must lie between stop_loss 500.0"):
        modify_order(ib, "dk-br/sl", stop_price=500.0)  # a long's stop above its limit entry: nothing sent
    assert tws_fake.place_order_msgs == sent
    after = modify_order(ib, "dk-br/sl", stop_price=480.0)
    assert (after.client_order_id, after.stop_price, after.parent_id) == ("dk-br/sl", 480.0, ib.order("dk-br").id)
    assert tws_fake.place_order_msgs == sent + 1
    assert {o["ref"]: o["aux"] for o in tws_fake.orders.values()}["dk-br/sl"] == 480.0


def test_flatten_cancels_brackets_and_ocos_with_their_legs(ib, tws_fake, ib_log):
    tws_fake.set_position("SPY", 10, 480.0)
    ib.submit(OrderRequest("SPY", 10, "sell", order_class="oco", take_profit=520.0, stop_loss=490.0,
                           client_order_id="fl-oco"))  # fmt: skip
    ib.submit(OrderRequest("AAPL", 5, "buy", "limit", limit_price=190.0, order_class="bracket", take_profit=210.0,
                           stop_loss=185.0, client_order_id="fl-br"))  # fmt: skip
    rep = flatten(ib, timeout=5, poll=0.05)
    assert rep.status == "flat" and rep.sent == 1, rep.summary()
    assert not [r for r in rep.canceled if r["error"]], rep.canceled
    refs = ["fl-oco", "fl-oco/sl", "fl-br", "fl-br/tp", "fl-br/sl"]
    assert {o["ref"]: o["status"] for o in tws_fake.orders.values() if o["ref"] in refs} == dict.fromkeys(
        refs, "Cancelled"
    )
    assert tws_fake.positions == {}

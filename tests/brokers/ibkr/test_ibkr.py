"""IbkrBroker: the real ib_async client against FakeTwsServer on 127.0.0.1 (TWS API socket protocol)."""

from __future__ import annotations

import threading

import pytest

from brokers.base import (
    BrokerConfigError,
    BrokerUnavailable,
    InsufficientFunds,
    OrderRejected,
    OrderRequest,
    PriceUnavailable,
    retry,
)
from brokers.ibkr.adapter import IbkrBroker


@pytest.fixture
def ib(tws_fake, ib_log):
    b = IbkrBroker(port=tws_fake.port, client_id=7, timeout=3)
    yield b
    b.close()


def test_connect_account_positions_prices(tws_fake, ib_log):
    tws_fake.set_position("SPY", 10, 450.0)
    b = IbkrBroker(port=tws_fake.port, client_id=3, timeout=3)
    try:
        acct = b.account()
        assert (acct.equity, acct.cash, acct.buying_power) == (105_000.0, 100_000.0, 100_000.0)
        assert acct.account_id == "DU1234567" and acct.currency == "USD" and not acct.is_live
        (pos,) = b.positions()
        assert (pos.symbol, pos.quantity, pos.avg_price, pos.market_value) == ("SPY", 10, 450.0, 5000.0)
        assert b.latest_prices(["SPY", "AAPL"]) == {"SPY": 500.0, "AAPL": 200.0}
        assert tws_fake.connections == 1
    finally:
        b.close()
    # start-up requests the client made (positions, open/completed orders, account updates, executions)
    asked = {int(f[0]) for f in tws_fake.received}
    assert {71, 61, 5, 99, 6, 7} <= asked


def test_unknown_symbol_is_error_200(ib, tws_fake, ib_log):
    ib_log.allow(r"Error 200")
    with pytest.raises(PriceUnavailable, match="NOPE"):
        ib.latest_prices(["SPY", "NOPE"])
    with pytest.raises(OrderRejected, match="unknown contract NOPE"):
        ib.submit(OrderRequest("NOPE", 1, "buy"))
    assert tws_fake.place_order_msgs == 0


def test_market_buy_sell_fill_with_commission(ib, tws_fake, ib_log):
    ack = ib.submit(OrderRequest("AAPL", 10, "buy", client_order_id="p1-AAPL"))
    assert (ack.status, ack.quantity, ack.symbol, ack.side, ack.duplicate) == ("filled", 10, "AAPL", "buy", False)
    ib.submit(OrderRequest("AAPL", 4, "sell", client_order_id="p2-AAPL"))
    # commission: max($1, 0.005 * shares) = $1 each; avg cost includes it: (10 * 200 + 1) / 10
    (pos,) = ib.positions()
    assert (pos.symbol, pos.quantity) == ("AAPL", 6) and pos.avg_price == pytest.approx(200.1)
    acct = ib.account()
    assert acct.cash == pytest.approx(100_000 - 2000 - 1 + 800 - 1)
    assert acct.equity == pytest.approx(acct.cash + 6 * 200)
    fills = ib.fills()
    assert [(f.client_order_id, f.side, f.quantity, f.price, f.commission) for f in fills] == [
        ("p1-AAPL", "buy", 10, 200.0, 1.0),
        ("p2-AAPL", "sell", 4, 200.0, 1.0),
    ]
    st = ib.order("p1-AAPL")
    assert (st.status, st.filled_quantity, st.avg_fill_price) == ("filled", 10, 200.0)
    assert [o.client_order_id for o in ib.orders("closed")] == ["p1-AAPL", "p2-AAPL"]
    assert ib.orders("open") == []
    assert [o["ref"] for o in tws_fake.orders.values()] == ["p1-AAPL", "p2-AAPL"]  # orderRef carried to TWS


def test_resubmit_sends_nothing_even_from_a_new_connection(ib, tws_fake, ib_log):
    order = OrderRequest("SPY", 3, "buy", client_order_id="plan9-SPY")
    first = ib.submit(order)
    again = ib.submit(order)
    assert again == first and again.duplicate
    other = IbkrBroker(port=tws_fake.port, client_id=8, timeout=3)  # e.g. the CLI while the app runs
    try:
        third = other.submit(order)
        assert third.duplicate and third.id == first.id
    finally:
        other.close()
    assert tws_fake.place_order_msgs == 1 and tws_fake.orders_created == 1


def test_rejection_and_insufficient_funds(ib, tws_fake, ib_log):
    ib_log.allow(r"Error 201", r"Canceled order")
    tws_fake.reject["QQQ"] = "QQQ is not allowed for this account"
    with pytest.raises(OrderRejected, match="QQQ is not allowed for this account"):
        ib.submit(OrderRequest("QQQ", 1, "buy", client_order_id="rej-QQQ"))
    assert ib.order("rej-QQQ").status == "rejected"
    with pytest.raises(InsufficientFunds, match="EQUITY WITH LOAN"):
        ib.submit(OrderRequest("SPY", 1000, "buy"))
    assert tws_fake.orders_created == 0


def test_partial_fill_then_cancel(ib, tws_fake, ib_log):
    tws_fake.partial["SPY"] = 0.4
    ack = ib.submit(OrderRequest("SPY", 10, "buy", client_order_id="pf-SPY"))
    assert ack.status == "partially_filled"
    st = ib.order("pf-SPY")
    assert (st.status, st.filled_quantity, st.remaining, st.avg_fill_price) == ("partially_filled", 4, 6, 500.0)
    assert [o.client_order_id for o in ib.orders("open")] == ["pf-SPY"]
    ib.cancel(st.id)
    assert ib.order("pf-SPY").status == "canceled"
    with pytest.raises(OrderRejected, match="not cancelable"):
        ib.cancel("pf-SPY")
    assert {p.symbol: p.quantity for p in ib.positions()} == {"SPY": 4}


def test_connection_dropped_mid_submit_then_retry_sends_nothing_twice(ib, tws_fake, ib_log):
    ib_log.allow(r"Peer closed connection")
    tws_fake.drop_on_order = 1  # the order arrives and fills, then the socket closes without an answer
    order = OrderRequest("AAPL", 5, "buy", client_order_id="drop-AAPL")
    with pytest.raises(BrokerUnavailable, match="connection lost"):
        ib.submit(order)
    ack = retry(lambda: ib.submit(order), attempts=3, backoff=0.05)
    assert ack.duplicate and ack.status == "filled" and ack.client_order_id == "drop-AAPL"
    assert tws_fake.place_order_msgs == 1 and tws_fake.orders_created == 1
    assert tws_fake.connections == 2
    assert {p.symbol: p.quantity for p in ib.positions()} == {"AAPL": 5}


def test_reconnects_after_connection_loss(ib, tws_fake, ib_log):
    ib_log.allow(r"Peer closed connection")
    assert ib.account().cash == 100_000.0
    tws_fake.drop_all_connections()
    deadline = threading.Event()
    deadline.wait(0.3)
    assert ib.account().cash == 100_000.0  # reconnected on this call
    assert tws_fake.connections == 2


def test_unreachable_gateway_is_unavailable(ib_log):
    import socket

    ib_log.allow(r"API connection failed", r"Make sure API port")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    b = IbkrBroker(port=port, timeout=2)
    try:
        with pytest.raises(BrokerUnavailable, match="connection to 127.0.0.1"):
            b.account()
    finally:
        b.close()


def test_whole_shares_and_live_guards(monkeypatch):
    b = IbkrBroker(port=1, timeout=1)  # nothing is contacted before the first call
    try:
        with pytest.raises(OrderRejected, match="whole shares only"):
            b.submit(OrderRequest("SPY", 1.5, "buy"))
        assert b.capabilities.fractional is False and not b.is_live
    finally:
        b.close()
    with pytest.raises(BrokerConfigError, match="IVYBT_ALLOW_LIVE=1"):
        IbkrBroker(live=True)
    with pytest.raises(BrokerConfigError, match="live-trading port"):
        IbkrBroker(port=7496)
    monkeypatch.setenv("IVYBT_ALLOW_LIVE", "1")
    live = IbkrBroker(live=True)
    try:
        assert live.is_live and live.port == 7496
    finally:
        live.close()

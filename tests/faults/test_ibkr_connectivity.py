"""IBKR faults (issue 15 item 6): TWS loses its own link to IB's servers (error 1100) and gets it back (1102: data
maintained, 1101: data lost). The API socket to TWS stays up all along, so only TWS's error messages tell.

The real ib_async client against the fake TWS on 127.0.0.1 (tests/brokers/ibkr/tws_server.py). What must hold:
nothing is sent into the void while IB is unreachable (a submit waits, bounded, then one clear line), reads say
they may be stale, and on the way back the waiting order goes out exactly once (the fake counts placeOrders by
orderRef); after 1101 what TWS dropped is asked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from brokers.base import BrokerUnavailable, OrderRequest
from brokers.ibkr.adapter import IbkrBroker
from tests.brokers.conftest import IbLog
from tests.brokers.ibkr.helpers import placed, wait_until
from tests.brokers.ibkr.tws_server import FakeTwsServer
from tests.faults.ibkr_helpers import Background, fake_tws, ib_errors

CONNECTIVITY_ERRORS = r"Error 110[012], reqId -1: Connectivity between IB and Trader Workstation"


@pytest.fixture
def tws(home, no_broker_env) -> Iterator[FakeTwsServer]:
    with fake_tws() as fake:
        yield fake


@pytest.fixture
def ib_log() -> Iterator[IbLog]:
    with ib_errors() as log:
        log.allow(CONNECTIVITY_ERRORS)
        yield log


def _broker(tws: FakeTwsServer, outage_wait: float) -> IbkrBroker:
    b = IbkrBroker(port=tws.port, client_id=31, timeout=3, outage_wait=outage_wait)
    assert b.account().cash == 100_000.0  # connected, TWS and IB fine
    return b


def test_ibkr_error_1100_pauses_a_submit_and_1102_sends_it_exactly_once(tws, ib_log, caplog):
    b = _broker(tws, outage_wait=60)
    try:
        tws.connectivity(1100)
        wait_until(lambda: b.link.lost)
        with caplog.at_level(logging.WARNING, logger="brokers.ibkr"):
            assert b.positions() == []  # TWS's last values still answer a read ...
        stale = [r.getMessage() for r in caplog.records if r.name.startswith("brokers.ibkr")]
        assert any("1100" in m and "may be stale" in m for m in stale), stale  # ... which says they may be stale
        submit = Background(lambda: b.submit(OrderRequest("SPY", 2, "buy", client_order_id="gap-SPY")))
        wait_until(lambda: b.link.waiting == 1)
        assert tws.place_order_msgs == 0  # nothing sent while IB is unreachable
        tws.connectivity(1102)
        ack = submit.result()
        assert (ack.client_order_id, ack.status, ack.duplicate) == ("gap-SPY", "filled", False)
        assert [p["ref"] for p in placed(tws)] == ["gap-SPY"]
        assert not b.link.lost
    finally:
        b.close()


def test_ibkr_error_1100_submit_gives_up_after_the_bound_with_one_line_then_retry_sends_once(tws, ib_log):
    b = _broker(tws, outage_wait=0.5)
    order = OrderRequest("AAPL", 3, "buy", client_order_id="late-AAPL")
    try:
        tws.connectivity(1100)
        wait_until(lambda: b.link.lost)
        with pytest.raises(BrokerUnavailable) as err:
            b.submit(order)
        msg = str(err.value)
        assert msg.startswith("ibkr: TWS lost its connection to IB (1100)") and "\n" not in msg, msg
        assert "late-AAPL not sent" in msg and "0.5 s" in msg, msg
        with pytest.raises(BrokerUnavailable, match=r"\(1100\)"):
            b.cancel("late-AAPL")  # a cancel is a write too: it waits the same way
        assert tws.place_order_msgs == 0 and tws.orders_created == 0
        tws.connectivity(1102)
        wait_until(lambda: not b.link.lost)
        assert b.submit(order).status == "filled"
        assert b.submit(order).duplicate  # the caller's retry finds it and sends nothing
        assert [p["ref"] for p in placed(tws)] == ["late-AAPL"]
    finally:
        b.close()


def test_ibkr_error_1101_data_lost_resubscribes_and_rereads_before_the_waiting_submit(tws, ib_log, caplog):
    b = _broker(tws, outage_wait=60)
    try:
        tws.connectivity(1100)
        wait_until(lambda: b.link.lost)
        submit = Background(lambda: b.submit(OrderRequest("QQQ", 1, "buy", client_order_id="lost-QQQ")))
        wait_until(lambda: b.link.waiting == 1)
        tws.set_position("AAPL", 7, 190.0)  # changed while IB was unreachable: TWS will not push it
        with tws.lock:
            mark = len(tws.received)
        with caplog.at_level(logging.INFO, logger="brokers.ibkr"):
            tws.connectivity(1101)
            ack = submit.result()
        assert ack.client_order_id == "lost-QQQ" and ack.status == "filled"
        with tws.lock:
            after = [int(f[0]) for f in tws.received[mark:]]
        # account updates (6), positions (61), all open orders (16), completed orders (99), executions (7) and the
        # market data type (59) asked for again, all before the order went out (3), once
        resync = after[: after.index(3)]
        assert {6, 61, 16, 99, 7, 59} <= set(resync), after
        assert [p["ref"] for p in placed(tws)] == ["lost-QQQ"]
        said = [r.getMessage() for r in caplog.records if r.name.startswith("brokers.ibkr")]
        assert any("1101" in m and "account updates, positions, open orders" in m for m in said), said
        assert {p.symbol: p.quantity for p in b.positions()} == {"AAPL": 7, "QQQ": 1}
    finally:
        b.close()

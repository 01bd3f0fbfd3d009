"""Options on IBKR (issue 20 item 2) with the real ib_async client against FakeTwsServer: an option order on an
OPT contract (what goes on the wire), the option position with its multiplier, the chain from reqSecDefOptParams
with snapshot quotes and TICK_OPTION_COMPUTATION model Greeks, a resting option limit order cancelled, and what
the adapter does not take on an option refused before anything is sent. Any ERROR from ib_async fails a test."""

from __future__ import annotations

import datetime as dt

import pytest

from brokers.base import OptionsBroker, OrderRejected, OrderRequest
from brokers.ibkr.adapter import IbkrBroker
from engine.options.occ import OptionContract
from tests.brokers.ibkr.helpers import placed, wait_until

DEC, JAN = dt.date(2026, 12, 18), dt.date(2027, 1, 15)
CALL, PUT, JAN_CALL = "SPY261218C00600000", "SPY261218P00600000", "SPY270115C00600000"
CALL_GREEKS = {"iv": 0.1843, "delta": 0.4512, "gamma": 0.0061, "vega": 1.2045, "theta": -0.1534, "price": 12.48}
PUT_GREEKS = {"iv": 0.2011, "delta": -0.5488, "gamma": 0.0059, "vega": 1.1987, "theta": -0.1102, "price": 20.37}


@pytest.fixture
def fake(tws_fake):
    tws_fake.add_option(CALL, bid=12.3, ask=12.7, last=12.5, greeks=CALL_GREEKS)
    tws_fake.add_option(PUT, bid=20.1, ask=20.6, last=20.4, greeks=PUT_GREEKS)
    tws_fake.add_option(JAN_CALL, bid=15.0, ask=15.6, last=15.2, greeks={**CALL_GREEKS, "price": 15.3})
    return tws_fake


@pytest.fixture
def ib(fake, ib_log):
    b = IbkrBroker(port=fake.port, client_id=7, timeout=3)
    yield b
    b.close()


def test_ibkr_declares_option_market_and_limit_orders(ib):
    assert isinstance(ib, OptionsBroker)
    assert (ib.capabilities.options, ib.capabilities.option_order_types) == (True, ("market", "limit"))


def test_buy_to_open_places_an_opt_contract_and_the_position_carries_the_multiplier(ib, fake):
    ack = ib.submit(OrderRequest(CALL, 2, "buy", client_order_id="opt-1"))
    assert ack.symbol == CALL
    (sent,) = placed(fake)
    assert (sent["symbol"], sent["action"], sent["qty"], sent["type"]) == (CALL, "BUY", 2, "MKT")
    opt_msg = next(f for f in fake.received if f[0] == "3")
    assert opt_msg[3:9] == ["SPY", "OPT", "20261218", "600.0", "C", "100"]  # symbol .. multiplier on the wire
    wait_until(lambda: ib.order("opt-1").status == "filled")
    fee = 1.0  # the fake's commission: max(1, 0.005 x 2)
    wait_until(lambda: [p.symbol for p in ib.positions()] == [CALL])
    (pos,) = ib.positions()
    assert (pos.symbol, pos.quantity, pos.kind, pos.multiplier) == (CALL, 2, "option", 100)
    assert pos.option == OptionContract("SPY", DEC, "call", 600)
    assert pos.avg_price == pytest.approx((12.5 * 100 + fee / 2) / 100)  # IB's per-contract cost / 100
    wait_until(lambda: ib.positions()[0].market_value == 12.5 * 2 * 100)
    assert fake.cash == pytest.approx(100_000.0 - 2 * 12.5 * 100 - fee)
    assert ib.order("opt-1").avg_fill_price == 12.5 and [f.symbol for f in ib.fills()] == [CALL]


def test_the_chain_lists_the_nearest_expiry_with_quotes_and_model_greeks(ib, fake):
    chain = ib.option_chain("SPY")
    assert [q.symbol for q in chain] == [CALL, PUT] and fake.chain_requests == 1
    call, put = chain
    assert (call.bid, call.ask, call.last) == (12.3, 12.7, 12.5)
    assert (call.implied_vol, call.delta, call.gamma, call.vega, call.theta) == (
        0.1843,
        0.4512,
        0.0061,
        1.2045,
        -0.1534,
    )
    assert call.underlying_price == 500.0 and call.contract.multiplier == 100
    assert (put.bid, put.ask, put.implied_vol, put.delta) == (20.1, 20.6, 0.2011, -0.5488)
    (jan,) = ib.option_chain("SPY", JAN)
    assert (jan.symbol, jan.bid, jan.ask, jan.last) == (JAN_CALL, 15.0, 15.6, 15.2)
    assert ib.option_chain("SPY", dt.date(2027, 3, 19)) == []  # not a listed expiry
    assert ib.latest_prices([PUT, "SPY"]) == {PUT: 20.4, "SPY": 500.0}  # an option's last trade by its OCC symbol


def test_a_resting_option_limit_order_cancels(ib):
    ib.submit(OrderRequest(PUT, 1, "buy", type="limit", limit_price=15.0, client_order_id="opt-lim"))
    (o,) = ib.orders("open")
    assert (o.symbol, o.status, o.limit_price, o.quantity, o.type) == (PUT, "new", 15.0, 1, "limit")
    ib.cancel(o.id)
    wait_until(lambda: ib.order("opt-lim").status == "canceled")
    assert ib.positions() == []


@pytest.mark.parametrize(
    "extra, why",
    [
        ({"type": "trailing_stop", "trail_percent": 5.0}, "order type 'trailing_stop' is not supported"),
        ({"type": "stop_limit", "stop_price": 10.0, "limit_price": 9.5}, "order type 'stop_limit' is not supported"),
        ({"order_class": "bracket", "take_profit": 20.0, "stop_loss": 8.0}, "order class 'bracket' is not supported"),
    ],
)
def test_what_the_adapter_does_not_take_on_an_option_is_refused_before_sending(ib, fake, extra, why):
    with pytest.raises(OrderRejected, match=f"ibkr: option {CALL}: {why}"):
        ib.submit(OrderRequest(CALL, 1, "buy", client_order_id="nope", **extra))
    assert fake.place_order_msgs == 0

"""Options on Alpaca (issue 20 item 2) through the real alpaca-py clients against the fake Alpaca service: an option
order on its OCC symbol, the option position with its multiplier, the chain joined from the contract list and
the snapshots (quotes, IV, Greeks as served), a resting option limit order cancelled, and what Alpaca does not
take on an option refused before anything is sent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.base import OptionsBroker, OrderRejected, OrderRequest
from engine.options.occ import OptionContract

DEC = dt.date(2026, 12, 18)
CALL, PUT, JAN_CALL = "SPY261218C00600000", "SPY261218P00600000", "SPY270115C00600000"
CALL_GREEKS = {"delta": 0.4512, "gamma": 0.0061, "rho": 0.8123, "theta": -0.1534, "vega": 1.2045}


@pytest.fixture
def fake(alpaca_fake):
    alpaca_fake.add_option(CALL, bid=12.3, ask=12.7, last=12.5, iv=0.1843, greeks=CALL_GREEKS, open_interest=1520)
    alpaca_fake.add_option(PUT, bid=20.1, ask=20.6, last=20.4, iv=0.2011)  # no greeks served
    alpaca_fake.add_option(JAN_CALL, bid=15.0, ask=15.6, last=15.2, iv=0.19)
    return alpaca_fake


def _broker(fake) -> AlpacaBroker:
    return AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=5)


def test_alpaca_declares_options_day_orders_market_and_limit(fake):
    b = _broker(fake)
    assert isinstance(b, OptionsBroker)
    caps = b.capabilities
    assert (caps.options, caps.option_order_types, caps.option_time_in_force) == (True, ("market", "limit"), ("day",))


def test_buy_to_open_sends_the_occ_symbol_and_the_position_carries_the_multiplier(fake):
    b = _broker(fake)
    ack = b.submit(OrderRequest(CALL, 2, "buy", client_order_id="opt-1"))
    assert ack.symbol == CALL and ack.status == "filled"
    assert fake.posted[-1]["symbol"] == CALL and float(fake.posted[-1]["qty"]) == 2
    (pos,) = b.positions()
    assert (pos.symbol, pos.quantity, pos.avg_price, pos.kind, pos.multiplier) == (CALL, 2, 12.5, "option", 100)
    assert pos.option == OptionContract("SPY", DEC, "call", 600)
    assert pos.market_value == 12.5 * 2 * 100
    assert b.account().cash == 100_000.0 - 2500.0
    assert b.order("opt-1").avg_fill_price == 12.5
    fake.prices[CALL] = 13.1  # the option trades higher: latest prices mix option and stock symbols
    assert b.latest_prices([CALL, "SPY"]) == {CALL: 13.1, "SPY": 500.0}


def test_the_chain_joins_contracts_and_snapshots_over_every_page(fake):
    chain = _broker(fake).option_chain("SPY")
    assert [q.symbol for q in chain] == [CALL, PUT, JAN_CALL]  # by expiry, right, strike
    assert len(fake.option_queries) == 2  # 3 contracts, 2 per page
    call = chain[0]
    assert (call.bid, call.ask, call.last, call.implied_vol) == (12.3, 12.7, 12.5, 0.1843)
    assert (call.delta, call.gamma, call.theta, call.vega) == (0.4512, 0.0061, -0.1534, 1.2045)
    assert (call.open_interest, call.style, call.contract.multiplier) == (1520, "american", 100)
    assert call.contract.strike == Decimal("600") and call.expiry == DEC
    put = chain[1]
    assert (put.bid, put.ask, put.implied_vol, put.delta) == (20.1, 20.6, 0.2011, None)
    assert [q.symbol for q in _broker(fake).option_chain("SPY", DEC)] == [CALL, PUT]
    assert fake.option_queries[-1]["expiration_date"] == "2026-12-18"


def test_a_resting_option_limit_order_cancels(fake):
    b = _broker(fake)
    b.submit(OrderRequest(PUT, 1, "buy", type="limit", limit_price=15.0, client_order_id="opt-lim"))
    (o,) = b.orders("open")
    assert (o.symbol, o.status, o.limit_price, o.quantity) == (PUT, "new", 15.0, 1)
    b.cancel(o.id)
    assert b.order("opt-lim").status == "canceled" and b.positions() == []


@pytest.mark.parametrize(
    "extra, why",
    [
        ({"type": "trailing_stop", "trail_percent": 5.0}, "order type 'trailing_stop' is not supported"),
        ({"type": "stop", "stop_price": 10.0}, "order type 'stop' is not supported"),
        ({"order_class": "bracket", "take_profit": 20.0, "stop_loss": 8.0}, "order class 'bracket' is not supported"),
        ({"time_in_force": "gtc"}, "time in force 'gtc' is not one of"),
    ],
)
def test_what_alpaca_does_not_take_on_an_option_is_refused_before_sending(fake, extra, why):
    with pytest.raises(OrderRejected, match=f"alpaca: option {CALL}: {why}"):
        _broker(fake).submit(OrderRequest(CALL, 1, "buy", client_order_id="nope", **extra))
    assert fake.order_posts == 0 and ("GET", "/v2/orders:by_client_order_id") not in fake.requests


def test_the_fake_refuses_option_orders_alpaca_refuses(fake):
    """The fake's own rule (so the adapter's pre-send check is what keeps such an order away, not luck)."""
    import requests

    body = {"symbol": CALL, "qty": "1", "side": "buy", "type": "stop", "stop_price": "10", "time_in_force": "day"}
    r = requests.post(
        f"{fake.url}/v2/orders", json=body, headers={"APCA-API-KEY-ID": fake.key, "APCA-API-SECRET-KEY": fake.secret}
    )
    assert r.status_code == 422 and "not supported for options" in r.json()["message"]

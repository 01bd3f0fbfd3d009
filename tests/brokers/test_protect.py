"""What each position's protective order is (brokers.protect), prices worked out by hand from the entry price."""

from __future__ import annotations

import pytest

from brokers.base import MAX_CLIENT_ORDER_ID, BrokerCapabilities, OrderStatus, Position
from brokers.protect import (
    PREFIX,
    Wanted,
    client_order_id,
    held_kind,
    is_protective,
    kind_of,
    notes,
    tick,
    venue_problem,
    wanted,
)
from engine.config import Risk
from engine.orders.rules import BASIC_TYPES, ORDER_CLASSES, ORDER_TYPES


def long(avg: float = 123.457, qty: float = 10.0) -> Position:
    return Position("AAA", qty, avg, qty * avg)


@pytest.mark.parametrize(
    "risk, kind",
    [
        (Risk(), None),
        (Risk(stop_loss=0.05), "stop"),
        (Risk(take_profit=0.1), "take_profit"),
        (Risk(stop_loss=0.05, take_profit=0.1), "oco"),
        (Risk(trailing_stop=0.03), "trailing_stop"),
        (Risk(stop_loss=0.05, trailing_stop=0.03), "trailing_stop"),
        (Risk(stop_loss=0.05, take_profit=0.1, trailing_stop=0.08), "trailing_stop"),
    ],
)
def test_one_kind_per_risk_block(risk, kind):
    assert held_kind(risk) == kind


def test_long_oco_prices_are_rounded_to_the_cent():
    w = wanted(long(), Risk(stop_loss=0.05, take_profit=0.1))
    # 123.457 x 0.95 = 117.28415 -> 117.28 ; 123.457 x 1.10 = 135.8027 -> 135.80
    assert w == Wanted("AAA", "oco", "sell", 10.0, stop_price=117.28, limit_price=135.80)
    req = w.request("prot-x-1")
    assert (req.type, req.order_class, req.limit_price, req.take_profit, req.stop_loss) == (
        "limit", "oco", 135.80, 135.80, 117.28,
    )  # fmt: skip
    assert req.time_in_force == "gtc" and req.side == "sell" and req.quantity == 10.0


def test_short_exits_are_buys_with_the_stop_above_and_the_limit_below():
    short = Position("AAA", -4.0, 50.0, -200.0)
    assert wanted(short, Risk(stop_loss=0.1, take_profit=0.2)) == Wanted("AAA", "oco", "buy", 4.0, 55.0, 40.0)
    assert wanted(short, Risk(stop_loss=0.1)) == Wanted("AAA", "stop", "buy", 4.0, stop_price=55.0)
    assert wanted(short, Risk(take_profit=0.2)) == Wanted("AAA", "take_profit", "buy", 4.0, limit_price=40.0)
    assert "<= 0" in str(wanted(short, Risk(take_profit=1.5)))  # a short cannot gain more than its price


def test_trailing_stop_in_percent_and_below_a_dollar_four_decimals():
    assert wanted(long(), Risk(trailing_stop=0.025)) == Wanted("AAA", "trailing_stop", "sell", 10.0, trail_percent=2.5)
    penny = wanted(long(avg=0.56789), Risk(stop_loss=0.1))
    assert isinstance(penny, Wanted) and penny.stop_price == 0.5111  # 0.511101
    assert tick(19.996) == 20.0 and tick(0.123456) == 0.1235


def test_no_order_for_no_position_or_no_setting():
    assert wanted(long(qty=0.0), Risk(stop_loss=0.05)) is None
    assert wanted(long(), Risk()) is None


def test_ids_are_deterministic_short_and_prefixed():
    a = client_order_id("PAPER-1", "AAA", "sell", "oco", 1)
    assert a == client_order_id("PAPER-1", "AAA", "sell", "oco", 1) and a.startswith(PREFIX) and a.endswith("-1")
    others = {client_order_id(*k) for k in [("PAPER-2", "AAA", "sell", "oco", 1), ("PAPER-1", "BBB", "sell", "oco", 1),
              ("PAPER-1", "AAA", "buy", "oco", 1), ("PAPER-1", "AAA", "sell", "stop", 1)]}  # fmt: skip
    assert a not in others and len(others) == 4
    assert len(client_order_id("A" * 200, "B" * 50, "sell", "trailing_stop", 9999)) <= MAX_CLIENT_ORDER_ID


def test_notes_say_where_the_broker_differs_from_the_backtest():
    assert notes(Risk(stop_loss=0.05, trailing_stop=0.03)) == ()  # the trailing level is never below the stop
    wider, no_tp = notes(Risk(stop_loss=0.05, take_profit=0.2, trailing_stop=0.08))
    assert "trailing_stop 0.08" in wider and "stop_loss 0.05" in wider
    assert "take_profit 0.2 is not held" in no_tp


def test_venue_problem_names_what_is_missing():
    basic = BrokerCapabilities(fractional=True, shorting=False, order_types=BASIC_TYPES)
    full = BrokerCapabilities(fractional=True, shorting=False, order_types=ORDER_TYPES, order_classes=ORDER_CLASSES)
    assert venue_problem("take_profit", basic, "x") is None
    assert "'stop' is not supported" in str(venue_problem("stop", basic, "x"))
    no_oco = BrokerCapabilities(fractional=True, shorting=False, order_types=ORDER_TYPES)
    assert "'oco' is not supported" in str(venue_problem("oco", no_oco, "x"))
    assert all(venue_problem(k, full, "x") is None for k in ("stop", "take_profit", "oco", "trailing_stop"))


def test_protective_orders_are_the_top_level_prefixed_ones():
    def st(cid: str, **kw) -> OrderStatus:
        return OrderStatus("id", cid, "AAA", "sell", 1.0, 0.0, None, "new", **kw)

    assert is_protective(st("prot-abc-1", type="limit", order_class="oco"))
    assert not is_protective(st("prot-abc-1/sl", type="stop", order_class="oco", parent_id="p"))
    assert not is_protective(st("p123-AAA", type="stop"))
    assert [kind_of(st("c", type=t)) for t in ("stop", "trailing_stop", "limit", "stop_limit")] == [
        "stop", "trailing_stop", "take_profit", "other",
    ]  # fmt: skip
    assert kind_of(st("c", type="limit", order_class="oco")) == "oco"

"""Option instruments in the broker protocol: OrderRequest reads an OCC symbol into its contract, option quantities
are whole contracts, and `check_supported` refuses option orders a venue does not declare."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from brokers.base import BrokerCapabilities, InvalidOrder, OrderRejected, OrderRequest, Position, check_supported
from engine.options.occ import OptionContract


def test_an_occ_symbol_makes_an_option_order_in_the_compact_spelling():
    o = OrderRequest("SPY   261218P00412500", 3, "sell")
    assert o.symbol == "SPY261218P00412500" and o.kind == "option"
    assert o.option == OptionContract("SPY", dt.date(2026, 12, 18), "put", Decimal("412.5"))
    assert OrderRequest("SPY", 1.5, "buy").kind == "equity" and OrderRequest("SPY", 1.5, "buy").option is None


def test_option_orders_take_whole_contracts_and_one_contract():
    with pytest.raises(InvalidOrder, match="whole contracts"):
        OrderRequest("SPY261218C00600000", 1.5, "buy")
    other = OptionContract("SPY", dt.date(2026, 12, 18), "call", 610)
    with pytest.raises(InvalidOrder, match="names another contract"):
        OrderRequest("SPY261218C00600000", 1, "buy", option=other)
    with pytest.raises(InvalidOrder, match="order.symbol: option symbol .SPY261399C00600000.: 261399 is not a date"):
        OrderRequest("SPY261399C00600000", 1, "buy")  # month 13 is no date


def test_a_venue_without_options_refuses_them_before_sending():
    order = OrderRequest("SPY261218C00600000", 1, "buy", client_order_id="x")
    with pytest.raises(OrderRejected, match="option orders are not supported; order x not sent"):
        check_supported(order, BrokerCapabilities(fractional=True, shorting=True), "venue")
    day_only = BrokerCapabilities(fractional=True, shorting=True, options=True, option_time_in_force=("day",))
    check_supported(order, day_only, "venue")
    with pytest.raises(OrderRejected, match="time in force 'gtc'"):
        check_supported(OrderRequest("SPY261218C00600000", 1, "buy", time_in_force="gtc"), day_only, "venue")


def test_a_position_names_its_kind_and_multiplier():
    c = OptionContract("SPY", dt.date(2026, 12, 18), "call", 600)
    assert (Position("SPY261218C00600000", 2, 5.0, 1000.0, c).multiplier, Position("SPY", 2, 5.0, 10.0).multiplier) == (
        100,
        1,
    )

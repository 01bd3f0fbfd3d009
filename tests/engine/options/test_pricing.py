"""Prices and Greeks against Hull's worked examples (Options, Futures and Other Derivatives), put-call parity on
random inputs, and the Greeks against finite differences of the price (dividend yield, puts, Black-76)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.options import greeks, price


def test_hull_example_15_6_call_476_put_081() -> None:
    # S=42, K=40, r=10 %, vol=20 %, T=0.5: c = 4.76, p = 0.81
    call, put = price(["call", "put"], 42.0, 40.0, 0.5, 0.10, 0.20)
    assert round(float(call), 2) == 4.76
    assert round(float(put), 2) == 0.81


def test_hull_index_option_with_dividend_yield_5183() -> None:
    # Hull's index call: S=930, K=900, r=8 %, q=3 %, vol=20 %, T=2/12: c = 51.83
    assert round(float(price("call", 930.0, 900.0, 2 / 12, 0.08, 0.20, dividend=0.03)), 2) == 51.83


def test_hull_black76_futures_put_112() -> None:
    # Hull's crude-oil futures put: F=20, K=20, r=9 %, vol=25 %, T=4/12: p = 1.12 (and c = p at the money)
    put = float(price("put", 20.0, 20.0, 4 / 12, 0.09, 0.25, model="black76"))
    call = float(price("call", 20.0, 20.0, 4 / 12, 0.09, 0.25, model="black76"))
    assert round(put, 2) == 1.12
    assert call == pytest.approx(put, abs=1e-12)


def test_hull_example_19_greeks_of_a_call() -> None:
    # S=49, K=50, r=5 %, vol=20 %, T=20/52: price 2.40, delta 0.522, gamma 0.066, theta -4.31 a year
    # (-0.0118 a calendar day), vega 12.1 per unit of vol (0.121 per point), rho 8.91 per unit (0.0891 per 1 %)
    g = greeks("call", 49.0, 50.0, 0.3846, 0.05, 0.20).row()
    assert round(g["price"], 2) == 2.40
    assert round(g["delta"], 3) == 0.522
    assert round(g["gamma"], 3) == 0.066
    assert round(g["theta_per_year"], 2) == -4.31
    assert round(g["theta"], 4) == round(-4.31 / 365, 4)
    assert round(g["vega"] * 100, 1) == 12.1
    assert round(g["rho"] * 100, 2) == 8.91


def test_a_chain_prices_in_one_call_like_element_by_element() -> None:
    strikes = np.linspace(50, 150, 41)
    chain = price("put", 100.0, strikes, 0.75, 0.03, 0.25, dividend=0.01)
    assert chain.shape == (41,)
    assert np.allclose(chain, [float(price("put", 100.0, k, 0.75, 0.03, 0.25, 0.01)) for k in strikes], rtol=0, atol=0)


def test_expiry_and_zero_vol_are_the_payoff_limits() -> None:
    assert float(price("call", 42.0, 40.0, 0.0, 0.1, 0.2)) == 2.0
    assert float(price("put", 42.0, 40.0, 0.0, 0.1, 0.2)) == 0.0
    # vol 0: the discounted forward payoff, S e^{-qT} - K e^{-rT}
    expected = 42.0 * math.exp(-0.02 * 0.5) - 40.0 * math.exp(-0.1 * 0.5)
    assert float(price("call", 42.0, 40.0, 0.5, 0.1, 0.0, 0.02)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vol": -0.2}, "vol -0.2: must be >= 0"),
        ({"years": -1.0}, "years -1: must be >= 0"),
        ({"spot": 0.0}, "spot 0: must be > 0"),
        ({"strike": -5.0}, "strike -5: must be > 0"),
        ({"rate": float("nan")}, "rate nan: must be a finite number"),
    ],
)
def test_bad_inputs_are_one_config_error_naming_the_value(kwargs: dict, message: str) -> None:
    args = {"right": "call", "spot": 42.0, "strike": 40.0, "years": 0.5, "rate": 0.1, "vol": 0.2, **kwargs}
    with pytest.raises(ConfigError, match=message):
        price(**args)


def test_black76_takes_no_dividend_and_a_bad_right_is_named() -> None:
    with pytest.raises(ConfigError, match="Black-76"):
        price("call", 20.0, 20.0, 1.0, 0.05, 0.2, dividend=0.01, model="black76")
    with pytest.raises(ConfigError, match="'straddle'"):
        price("straddle", 20.0, 20.0, 1.0, 0.05, 0.2)


positive = st.floats(1.0, 1000.0)
inputs = st.tuples(
    positive,
    st.floats(0.3, 3.0),  # strike / spot
    st.floats(0.01, 5.0),  # years
    st.floats(-0.02, 0.15),  # rate
    st.floats(0.01, 1.5),  # vol
    st.floats(0.0, 0.08),  # dividend
)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_put_call_parity_bsm(x: tuple) -> None:
    s, m, t, r, vol, q = x
    k = s * m
    call, put = price(["call", "put"], s, k, t, r, vol, q)
    assert call - put == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-9 * max(s, k))
    gc, gp = greeks("call", s, k, t, r, vol, q), greeks("put", s, k, t, r, vol, q)
    assert float(gc.delta - gp.delta) == pytest.approx(math.exp(-q * t), abs=1e-12)
    assert float(gc.gamma) == pytest.approx(float(gp.gamma), rel=1e-12, abs=1e-15)
    assert float(gc.vega) == pytest.approx(float(gp.vega), rel=1e-12, abs=1e-15)


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_put_call_parity_black76(x: tuple) -> None:
    f, m, t, r, vol, _ = x
    k = f * m
    call, put = price(["call", "put"], f, k, t, r, vol, model="black76")
    assert call - put == pytest.approx(math.exp(-r * t) * (f - k), abs=1e-9 * max(f, k))


CASES = [
    ("call", 100.0, 95.0, 0.5, 0.04, 0.3, 0.02, "bsm"),
    ("put", 100.0, 110.0, 1.5, 0.01, 0.45, 0.03, "bsm"),
    ("call", 80.0, 85.0, 0.25, 0.05, 0.2, 0.0, "black76"),
    ("put", 80.0, 70.0, 2.0, 0.03, 0.35, 0.0, "black76"),
]


@pytest.mark.parametrize("case", CASES)
def test_greeks_are_the_derivatives_of_the_price_in_their_units(case: tuple) -> None:
    right, s, k, t, r, vol, q, model = case

    def p(s=s, t=t, r=r, vol=vol) -> float:
        return float(price(right, s, k, t, r, vol, q, model))

    g = greeks(right, s, k, t, r, vol, q, model).row()
    h = 1e-4
    assert g["delta"] == pytest.approx((p(s=s + h) - p(s=s - h)) / (2 * h), abs=1e-7)
    assert g["gamma"] == pytest.approx((p(s=s + 1e-2) - 2 * p() + p(s=s - 1e-2)) / 1e-4, abs=1e-6)
    theta_per_year = -(p(t=t + h) - p(t=t - h)) / (2 * h)  # time passing: T shrinks
    assert g["theta_per_year"] == pytest.approx(theta_per_year, abs=1e-6)
    assert g["theta"] == pytest.approx(theta_per_year / 365, abs=1e-8)  # per calendar day
    assert g["theta"] == pytest.approx(p(t=t - 1 / 365) - p(), rel=0.01)  # about what one day passing costs
    assert g["vega"] == pytest.approx((p(vol=vol + h) - p(vol=vol - h)) / (2 * h) * 0.01, abs=1e-8)
    assert g["rho"] == pytest.approx((p(r=r + h) - p(r=r - h)) / (2 * h) * 0.01, abs=1e-8)


def test_black76_rho_is_minus_t_times_value_per_point() -> None:
    g = greeks("call", 80.0, 85.0, 0.25, 0.05, 0.2, model="black76").row()
    assert g["rho"] == pytest.approx(-0.25 * g["price"] / 100, rel=1e-12)

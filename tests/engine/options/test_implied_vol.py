"""Implied vol: price -> vol -> price to 1e-8 over a grid of moneyness and maturities (both models, both rights),
random round trips, and the clear errors when no vol fits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.options import greeks, implied_vol, price

MONEYNESS = (0.6, 0.8, 0.9, 0.97, 1.0, 1.03, 1.1, 1.25, 1.5)
YEARS = (7 / 365, 30 / 365, 0.25, 1.0, 3.0)
VOLS = (0.05, 0.15, 0.3, 0.6, 1.2)


@pytest.mark.parametrize("model", ["bsm", "black76"])
@pytest.mark.parametrize("right", ["call", "put"])
def test_round_trip_price_vol_price_on_a_grid(model: str, right: str) -> None:
    s, r, q = 100.0, 0.03, 0.015 if model == "bsm" else 0.0
    grid = np.array(list(itertools.product(MONEYNESS, YEARS, VOLS)))
    k, t, vol = s * grid[:, 0], grid[:, 1], grid[:, 2]
    quotes = price(right, s, k, t, r, vol, q, model)
    usable = quotes > 1e-10 * s  # a price of ~0 (far out of the money, days to expiry, low vol) fits any low vol
    assert usable.sum() > 0.85 * len(grid)
    vols = implied_vol(quotes[usable], right, s, k[usable], t[usable], r, q, model)
    repriced = price(right, s, k[usable], t[usable], r, vols, q, model)
    assert np.max(np.abs(repriced - quotes[usable])) < 1e-8
    vega = greeks(right, s, k[usable], t[usable], r, vol[usable], q, model).vega
    identifiable = vega > 1e-4  # the vol itself is pinned where the price moves with it
    assert np.max(np.abs(vols[identifiable] - vol[usable][identifiable])) < 1e-8


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["call", "put"]),
    st.floats(0.7, 1.4),
    st.floats(0.05, 4.0),
    st.floats(0.0, 0.1),
    st.floats(0.05, 1.5),
)
def test_random_round_trips(right: str, m: float, t: float, r: float, vol: float) -> None:
    quote = float(price(right, 50.0, 50.0 * m, t, r, vol, 0.01))
    found = float(implied_vol(quote, right, 50.0, 50.0 * m, t, r, 0.01))
    assert float(price(right, 50.0, 50.0 * m, t, r, found, 0.01)) == pytest.approx(quote, abs=1e-8)


def test_hull_prices_imply_20_percent() -> None:
    vols = implied_vol([4.759422392871532, 0.8085993729000922], ["call", "put"], 42.0, 40.0, 0.5, 0.10)
    assert np.allclose(vols, 0.20, atol=1e-10)


def test_a_price_below_what_any_vol_gives_names_price_right_and_intrinsic() -> None:
    with pytest.raises(ConfigError, match=r"^no volatility fits price 0.5 for a call with intrinsic 2 \(vols"):
        implied_vol(0.5, "call", 42.0, 40.0, 0.5, 0.10)


def test_a_price_above_the_spot_fits_no_vol() -> None:
    with pytest.raises(ConfigError, match="no volatility fits price 43 for a call with intrinsic 2"):
        implied_vol(43.0, "call", 42.0, 40.0, 0.5, 0.10)


@pytest.mark.parametrize(
    ("years", "quote", "message"), [(0.0, 1.0, "years 0: implied vol needs"), (0.5, -1.0, "price -1")]
)
def test_expiry_and_non_positive_prices_are_errors(years: float, quote: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        implied_vol(quote, "put", 42.0, 40.0, years, 0.10)


def test_errors_nan_keeps_the_rest_of_a_chain() -> None:
    quotes = np.array([4.759422392871532, 0.5, 5.0])
    vols = implied_vol(quotes, "call", 42.0, 40.0, 0.5, 0.10, errors="nan")
    assert vols[0] == pytest.approx(0.2, abs=1e-10)
    assert np.isnan(vols[1])
    assert float(price("call", 42.0, 40.0, 0.5, 0.10, vols[2])) == pytest.approx(5.0, abs=1e-10)

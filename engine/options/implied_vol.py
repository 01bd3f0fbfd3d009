"""Implied volatility: the vol at which the model's price equals a quoted price, for one option or a whole chain.

The price of a European option rises strictly with vol (vega > 0 for T > 0), from the discounted forward payoff
at vol 0 to the spot (call) or the discounted strike (put) as vol grows, so a price strictly between the prices
at the bracket's two ends has exactly one implied vol in it; Brent's method (scipy.optimize.brentq) finds it to
`VOL_TOLERANCE`. A price outside the bracket has none: a ConfigError names the price, the right, its intrinsic
value and the prices the bracket spans (or, with errors="nan", that element is NaN).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from engine.errors import ConfigError
from engine.options.pricing import Array, Inputs, inputs, price_inputs

VOL_LOW = 1e-6
VOL_HIGH = 10.0
"""The bracket searched by default: 0.0001 % to 1000 % a year."""
VOL_TOLERANCE = 1e-13
PRICE_TOLERANCE = 1e-12
"""A quote within this (relative to the strike) of the price at VOL_LOW is taken as that vol, not an error."""


def implied_vol(
    quote: ArrayLike,
    right: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    dividend: ArrayLike = 0.0,
    model: str = "bsm",
    low: float = VOL_LOW,
    high: float = VOL_HIGH,
    errors: Literal["raise", "nan"] = "raise",
) -> Array:
    """The implied vol of each quoted price (same broadcast shape as the inputs).

    Raises ConfigError when T <= 0 (no vol is defined at expiry), when a quote is not a finite number > 0, or when
    no vol in [low, high] fits a quote (e.g. "no volatility fits price 0.5 for a call with intrinsic 2 ...");
    errors="nan" gives NaN for the quotes that do not fit instead (one bad quote of a chain keeps the rest).
    """
    if not 0 < low < high or not math.isfinite(high):
        raise ConfigError(f"implied vol bracket [{low:g}, {high:g}]: need 0 < low < high")
    quotes, spots = np.broadcast_arrays(np.asarray(quote, dtype=float), np.asarray(spot, dtype=float))
    x = inputs(right, spots, strike, years, rate, low, dividend, model)
    if np.any(x.t <= 0):
        bad = float(x.t.ravel()[int(np.argmax(x.t.ravel() <= 0))])
        raise ConfigError(f"years {bad:g}: implied vol needs a time to expiry > 0")
    target = np.broadcast_to(quotes, x.s.shape)
    bounds = (_prices(x, low), _prices(x, high))
    out = np.full(x.s.shape, np.nan)
    for i in np.ndindex(x.s.shape):
        one = _element(x, i)
        p = float(target[i])
        lo_price, hi_price = float(bounds[0][i]), float(bounds[1][i])
        problem = _no_fit(p, lo_price, hi_price, one, low, high)
        if problem is None:
            out[i] = _solve(one, p, lo_price, low, high)
        elif errors == "raise":
            raise ConfigError(problem)
    return out


def _prices(x: Inputs, vol: float) -> Array:
    return price_inputs(Inputs(x.is_call, x.s, x.k, x.t, x.r, x.b, np.full_like(x.s, vol), x.model))


def _element(x: Inputs, i: tuple[int, ...]) -> Inputs:
    def pick(a: np.ndarray) -> np.ndarray:
        return np.asarray(a[i])

    return Inputs(pick(x.is_call), pick(x.s), pick(x.k), pick(x.t), pick(x.r), pick(x.b), pick(x.vol), x.model)


def _no_fit(quote: float, lo_price: float, hi_price: float, x: Inputs, low: float, high: float) -> str | None:
    """Why no vol in [low, high] gives `quote` (None when one does)."""
    right = "call" if bool(x.is_call) else "put"
    if not math.isfinite(quote) or quote <= 0:
        return f"option price {quote:g}: must be a number > 0 to imply a volatility"
    if quote < lo_price - PRICE_TOLERANCE * float(x.k) or quote > hi_price:
        intrinsic = max(float(x.s) - float(x.k), 0.0) if right == "call" else max(float(x.k) - float(x.s), 0.0)
        return (
            f"no volatility fits price {quote:g} for a {right} with intrinsic {intrinsic:g} "
            f"(vols {low:g}..{high:g} give prices {lo_price:.6g}..{hi_price:.6g})"
        )
    return None


def _solve(x: Inputs, quote: float, lo_price: float, low: float, high: float) -> float:
    from scipy.optimize import brentq  # lazily: see engine.options.pricing.terms

    if quote <= lo_price:
        return low

    def gap(vol: float) -> float:
        one = Inputs(x.is_call, x.s, x.k, x.t, x.r, x.b, np.asarray(vol), x.model)
        return float(price_inputs(one)) - quote

    return float(brentq(gap, low, high, xtol=VOL_TOLERANCE, rtol=4 * np.finfo(float).eps, maxiter=200))

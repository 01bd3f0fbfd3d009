"""European option prices: Black–Scholes–Merton with a continuous dividend yield, and Black-76 on a futures price.

Both are the generalized Black–Scholes formula with a cost of carry b (Haug): BSM on a spot S has b = r - q,
Black-76 on a futures (or forward) price F has b = 0 and discounts the payoff at e^{-rT}. Every function takes
numpy arrays (or scalars) that broadcast together, so a whole chain prices in one call.

Units: rate, dividend yield and volatility are annual decimals (0.05 = 5 %); T is in years (calendar days / 365,
see `years_between`). At T = 0 an option is worth its payoff; at vol 0 it is worth its discounted forward payoff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.errors import ConfigError

type Model = Literal["bsm", "black76"]
MODELS: tuple[str, ...] = ("bsm", "black76")
DAYS_PER_YEAR = 365.0
"""Calendar days in a year: T = days / 365, theta is per calendar day (Hull's convention)."""

Array = NDArray[np.float64]


def years_between(start: dt.date, end: dt.date) -> float:
    """Calendar days from `start` to `end` over 365 (negative when `end` is earlier)."""
    return (end - start).days / DAYS_PER_YEAR


def is_call_array(right: ArrayLike) -> NDArray[np.bool_]:
    """'call'/'put' (or 'C'/'P', any case; or booleans: True = call) -> a boolean array, True for calls."""
    values = np.asarray(right)
    if values.dtype == bool:
        return values
    flat = [str(v).strip().lower() for v in values.ravel()]
    bad = [v for v in flat if v not in ("call", "put", "c", "p")]
    if bad:
        raise ConfigError(f"option right {bad[0]!r}: expected call or put")
    return np.array([v in ("call", "c") for v in flat], dtype=bool).reshape(values.shape)


@dataclass(frozen=True)
class Inputs:
    """Validated, broadcast model inputs; `s` is the spot (BSM) or the futures price (Black-76), `b` the carry."""

    is_call: NDArray[np.bool_]
    s: Array
    k: Array
    t: Array
    r: Array
    b: Array
    vol: Array
    model: str


def _floats(name: str, value: ArrayLike) -> Array:
    out = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(out)):
        raise ConfigError(f"{name} {_first(value, ~np.isfinite(out))}: must be a finite number")
    return out


def _first(value: ArrayLike, mask: NDArray[np.bool_]) -> object:
    arr = np.asarray(value)
    return arr.ravel()[int(np.argmax(np.ravel(mask)))] if arr.ndim else arr.item()


def _check(name: str, value: Array, ok: NDArray[np.bool_], rule: str) -> None:
    if not np.all(ok):
        raise ConfigError(f"{name} {_first(value, ~ok):g}: {rule}")


def inputs(
    right: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    dividend: ArrayLike = 0.0,
    model: str = "bsm",
) -> Inputs:
    """Check and broadcast the inputs (ConfigError naming the first bad value): prices > 0, T >= 0, vol >= 0."""
    if model not in MODELS:
        raise ConfigError(f"option model {model!r}: expected one of {', '.join(MODELS)}")
    s, k, t, r, v, q = (
        _floats(n, x)
        for n, x in (
            ("spot", spot),
            ("strike", strike),
            ("years", years),
            ("rate", rate),
            ("vol", vol),
            ("dividend", dividend),
        )
    )
    _check("spot" if model == "bsm" else "futures price", s, s > 0, "must be > 0")
    _check("strike", k, k > 0, "must be > 0")
    _check("years", t, t >= 0, "must be >= 0")
    _check("vol", v, v >= 0, "must be >= 0 (an annual decimal: 0.2 = 20 %)")
    if model == "black76" and np.any(q != 0):
        raise ConfigError("dividend: Black-76 prices a futures price and takes no dividend yield")
    call = is_call_array(right)
    b = r - q if model == "bsm" else np.zeros_like(r)
    call, s, k, t, r, b, v = np.broadcast_arrays(call, s, k, t, r, b, v)
    return Inputs(call, s, k, t, r, b, v, model)


def d1_d2(x: Inputs) -> tuple[Array, Array]:
    """d1 and d2 of the generalized formula (NaN where T or vol is 0: see `probabilities` for the limit)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = x.vol * np.sqrt(x.t)
        d1 = (np.log(x.s / x.k) + (x.b + 0.5 * x.vol**2) * x.t) / sd
        d1 = np.where(sd > 0, d1, np.nan)
    return d1, d1 - sd


@dataclass(frozen=True)
class Terms:
    """The pieces every price and Greek is made of: N(d1), N(d2), the normal density n(d1), the carry factor
    e^{(b-r)T} (e^{-qT} for BSM, e^{-rT} for Black-76) and the discount factor e^{-rT}.

    Where T or vol is 0 the formula's limit is used: N(d1) = N(d2) = 1 when the forward is in the money
    (S e^{(b-r)T} > K e^{-rT}), 0 when out of it (1/2 exactly at the money), and n(d1) = 0, so the price is the
    discounted forward payoff and gamma and vega are 0.
    """

    n_d1: Array
    n_d2: Array
    n_minus_d1: Array
    n_minus_d2: Array
    pdf_d1: Array
    carry: Array
    disc: Array


def terms(x: Inputs) -> Terms:
    from scipy.special import ndtr  # here, not at the top: importing scipy costs ~0.2 s, and engine.orders (a
    # backtest's import path, through engine.options.occ) imports this package without pricing anything

    carry = np.exp((x.b - x.r) * x.t)
    disc = np.exp(-x.r * x.t)
    d1, d2 = d1_d2(x)
    flat = np.isnan(d1)
    forward_gap = x.s * carry - x.k * disc
    limit = np.where(forward_gap > 0, 1.0, np.where(forward_gap < 0, 0.0, 0.5))
    safe_d1, safe_d2 = np.where(flat, 0.0, d1), np.where(flat, 0.0, d2)
    n_d1 = np.where(flat, limit, ndtr(safe_d1))
    n_d2 = np.where(flat, limit, ndtr(safe_d2))
    n_minus_d1 = np.where(flat, 1.0 - limit, ndtr(-safe_d1))  # not 1 - N(d1): far out of the money that is 0
    n_minus_d2 = np.where(flat, 1.0 - limit, ndtr(-safe_d2))
    pdf = np.where(flat, 0.0, np.exp(-0.5 * safe_d1**2) / np.sqrt(2.0 * np.pi))
    return Terms(n_d1, n_d2, n_minus_d1, n_minus_d2, pdf, carry, disc)


def price_inputs(x: Inputs, z: Terms | None = None) -> Array:
    """Prices for validated inputs (see `price`); call = S c N(d1) - K D N(d2), put = K D N(-d2) - S c N(-d1)."""
    z = z or terms(x)
    call = x.s * z.carry * z.n_d1 - x.k * z.disc * z.n_d2
    put = x.k * z.disc * z.n_minus_d2 - x.s * z.carry * z.n_minus_d1
    return np.maximum(np.where(x.is_call, call, put), 0.0)  # max: a rounding error never makes a price negative


def price(
    right: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    dividend: ArrayLike = 0.0,
    model: str = "bsm",
) -> Array:
    """European option prices, one per broadcast element.

    BSM: call = S e^{-qT} N(d1) - K e^{-rT} N(d2). Black-76 (`model="black76"`, `spot` = the futures price F):
    call = e^{-rT} (F N(d1) - K N(d2)). Hull's example 15.6: S=42, K=40, r=0.10, vol=0.20, T=0.5 gives a call of
    4.76 and a put of 0.81. Raises ConfigError for a non-positive price or strike, a negative T or vol.
    """
    return price_inputs(inputs(right, spot, strike, years, rate, vol, dividend, model))

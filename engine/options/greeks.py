"""The Greeks of a European option under BSM (dividend yield q) or Black-76, vectorized like the prices.

Conventions (Hull's): delta and gamma per unit of the spot (BSM) or of the futures price (Black-76); theta is the
change of value per calendar day as time passes (`theta_per_year` / 365; `theta_per_year` is Hull's yearly
figure); vega is per 1 vol point (a 0.01 change of vol); rho per 1 % change of the rate (0.01). Black-76 holds F
fixed when the rate moves, so its rho is -T V / 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from engine.options.pricing import DAYS_PER_YEAR, Array, Inputs, inputs, price_inputs, terms

VOL_POINT = 0.01
RATE_POINT = 0.01


@dataclass(frozen=True)
class Greeks:
    """Price and Greeks, one array per quantity (same broadcast shape as the inputs)."""

    price: Array
    delta: Array
    gamma: Array
    theta: Array
    vega: Array
    rho: Array
    theta_per_year: Array

    def row(self, i: int | tuple[int, ...] = ()) -> dict[str, float]:
        """One element as plain floats: price, delta, gamma, theta (per day), vega, rho, theta_per_year."""
        return {k: float(np.asarray(getattr(self, k))[i]) for k in self.__dataclass_fields__}


def greeks_inputs(x: Inputs) -> Greeks:
    z = terms(x)
    value = price_inputs(x, z)
    sqrt_t = np.sqrt(x.t)
    spot_carry = x.s * z.carry
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(z.pdf_d1 > 0, z.carry * z.pdf_d1 / (x.s * x.vol * sqrt_t), 0.0)
        decay = np.where(z.pdf_d1 > 0, -spot_carry * z.pdf_d1 * x.vol / (2.0 * sqrt_t), 0.0)
    carry_rate = x.b - x.r  # -q (BSM) or -r (Black-76)
    theta_call = decay - carry_rate * spot_carry * z.n_d1 - x.r * x.k * z.disc * z.n_d2
    theta_put = decay + carry_rate * spot_carry * z.n_minus_d1 + x.r * x.k * z.disc * z.n_minus_d2
    theta_year = np.where(x.is_call, theta_call, theta_put)
    if x.model == "bsm":
        rho_unit = np.where(x.is_call, x.k * x.t * z.disc * z.n_d2, -x.k * x.t * z.disc * z.n_minus_d2)
    else:
        rho_unit = -x.t * value
    return Greeks(
        price=value,
        delta=np.where(x.is_call, z.carry * z.n_d1, -z.carry * z.n_minus_d1),
        gamma=gamma,
        theta=theta_year / DAYS_PER_YEAR,
        vega=spot_carry * z.pdf_d1 * sqrt_t * VOL_POINT,
        rho=rho_unit * RATE_POINT,
        theta_per_year=theta_year,
    )


def greeks(
    right: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    years: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    dividend: ArrayLike = 0.0,
    model: str = "bsm",
) -> Greeks:
    """Price, delta, gamma, theta (per day), vega (per vol point), rho (per 1 %) for every broadcast element.

    Hull's example 19.1 (S=49, K=50, r=0.05, vol=0.20, T=0.3846, a call): delta 0.522, gamma 0.066, theta
    -4.31 per year (-0.0118 per day), vega 12.1 per unit of vol (0.121 per point), rho 8.91 per unit (0.0891 per 1 %).
    """
    return greeks_inputs(inputs(right, spot, strike, years, rate, vol, dividend, model))

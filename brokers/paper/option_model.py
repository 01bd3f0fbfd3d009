"""How the paper broker prices an option: Black–Scholes–Merton (engine.options) on the underlying's last bar.

Spot = the underlying's last close, "today" = that bar's date, T = calendar days to expiry / 365, the rate a stated
constant (`DEFAULT_RATE` unless the broker is given another), no dividend yield, and the implied vol of the
underlying: the one set by the user (stored per underlying), else the underlying's realized vol over its last 60
daily returns (annualized with sqrt 252; at least 20 returns), else `DEFAULT_VOL` (0.25). Prices are European
values; the paper chain lists the next `EXPIRIES` monthly expiries (third Fridays) with strikes around the spot.

Settlement style: the index roots in `CASH_SETTLED_ROOTS` pay intrinsic value x multiplier in cash; every other
(equity) option is settled physically: in the money at expiry, exercised (long) or assigned (short) into shares
of the underlying at the strike.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd

from engine.options.greeks import greeks
from engine.options.occ import OptionContract
from engine.orders.instruments import OptionQuote

DEFAULT_VOL = 0.25
DEFAULT_RATE = 0.04
VOL_WINDOW = 60
MIN_VOL_RETURNS = 20
TRADING_DAYS = 252
EXPIRIES = 3
STRIKES_EACH_SIDE = 5
CASH_SETTLED_ROOTS: dict[str, str] = {
    "SPX": "SPX",
    "SPXW": "SPX",
    "XSP": "XSP",
    "NDX": "NDX",
    "NDXP": "NDX",
    "RUT": "RUT",
    "RUTW": "RUT",
    "VIX": "VIX",
    "DJX": "DJX",
}
"""Option root -> the index whose bars price it; these contracts settle in cash."""


def cash_settled(contract: OptionContract) -> bool:
    return contract.underlying in CASH_SETTLED_ROOTS


def index_of(root: str) -> str:
    """The symbol whose bars price the options of `root` (SPXW -> SPX; an equity option's root is its stock)."""
    return CASH_SETTLED_ROOTS.get(root, root)


def underlying_of(contract: OptionContract) -> str:
    return index_of(contract.underlying)


def bar_date(stamp: object) -> dt.date:
    return pd.Timestamp(stamp).date()


def realized_vol(closes: pd.Series) -> float | None:
    """Annualized standard deviation of the last VOL_WINDOW daily log returns, None with fewer than MIN_VOL_RETURNS."""
    values = closes.dropna().to_numpy(dtype=float)
    returns = np.diff(np.log(values[values > 0]))[-VOL_WINDOW:]
    if len(returns) < MIN_VOL_RETURNS:
        return None
    vol = float(np.std(returns, ddof=1) * math.sqrt(TRADING_DAYS))
    return vol if vol > 0 else None


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def monthly_expiries(asof: dt.date, count: int = EXPIRIES) -> list[dt.date]:
    """The next `count` third Fridays strictly after `asof`."""
    out: list[dt.date] = []
    year, month = asof.year, asof.month
    while len(out) < count:
        day = third_friday(year, month)
        if day > asof:
            out.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def strike_step(spot: float) -> float:
    """Listed-strike spacing by price: 1 below 50, 5 below 500, 10 below 2000, else 25."""
    return 1.0 if spot < 50 else 5.0 if spot < 500 else 10.0 if spot < 2000 else 25.0


def chain_strikes(spot: float, each_side: int = STRIKES_EACH_SIDE) -> list[Decimal]:
    """Strikes on the step grid around the spot: the nearest one and `each_side` above and below (> 0 only)."""
    step = strike_step(spot)
    center = round(spot / step) * step
    return [Decimal(str(center + k * step)) for k in range(-each_side, each_side + 1) if center + k * step > 0]


def model_quote(contract: OptionContract, spot: float, asof: dt.date, vol: float, rate: float) -> OptionQuote:
    """The BSM price (as bid, ask and last: the paper chain has no spread) and Greeks of `contract`."""
    years = max((contract.expiry - asof).days, 0) / 365.0
    g = greeks(contract.right, spot, float(contract.strike), years, rate, vol).row()
    return OptionQuote(
        contract=contract,
        bid=g["price"],
        ask=g["price"],
        last=g["price"],
        implied_vol=vol,
        delta=g["delta"],
        gamma=g["gamma"],
        theta=g["theta"],
        vega=g["vega"],
        underlying_price=spot,
        style="european",
    )


def intrinsic(contract: OptionContract, spot: float) -> float:
    """Payoff per share at expiry: max(S - K, 0) for a call, max(K - S, 0) for a put."""
    k = float(contract.strike)
    return max(spot - k, 0.0) if contract.right == "call" else max(k - spot, 0.0)

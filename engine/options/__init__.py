"""Options: European prices and Greeks (BSM with a dividend yield, Black-76), implied vol, OCC symbols.

Modules: `pricing` (inputs, prices; T in years of 365 calendar days), `greeks` (delta, gamma, theta per day,
vega per vol point, rho per 1 %), `implied_vol` (Brent's method inside a vol bracket, a clear error when no vol
fits), `occ` (OptionContract and the OCC symbol, padded or compact). numpy + scipy only; no I/O.
"""

from __future__ import annotations

from engine.options.greeks import Greeks, greeks
from engine.options.implied_vol import implied_vol
from engine.options.occ import OptionContract, is_occ_symbol
from engine.options.pricing import MODELS, price, years_between

__all__ = ["MODELS", "Greeks", "OptionContract", "greeks", "implied_vol", "is_occ_symbol", "price", "years_between"]

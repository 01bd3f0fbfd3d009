"""An independent Black-Scholes-Merton price for the what-if tests (math.erf, no engine code)."""

from __future__ import annotations

import math


def bsm(right: str, s: float, k: float, t: float, r: float, vol: float, q: float = 0.0) -> float:
    if t <= 0:
        return max(s - k, 0.0) if right == "call" else max(k - s, 0.0)

    def n(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    d1 = (math.log(s / k) + (r - q + vol * vol / 2) * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    if right == "call":
        return s * math.exp(-q * t) * n(d1) - k * math.exp(-r * t) * n(d2)
    return k * math.exp(-r * t) * n(-d2) - s * math.exp(-q * t) * n(-d1)

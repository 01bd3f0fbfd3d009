"""What dollar-cost-averaging investors read about a position: average cost and money-weighted return.

Both take (T, K) arrays, one column per position (a symbol of a run), bar by bar:
`bought_value` money spent on buys (commissions included), `bought_units` units bought, `asset_flows` money
put into the position (buys) minus money taken out (sales, net of commissions), and `holding_value` the
position's value at each close (only the last bar is read).
"""

from __future__ import annotations

import numpy as np


def average_cost(bought_value: np.ndarray, bought_units: np.ndarray) -> np.ndarray:
    """Money spent on buys / units bought, per column (NaN when nothing was bought)."""
    units = np.sum(bought_units, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(units > 0, np.sum(bought_value, axis=0) / units, np.nan)


def _npv(rate: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """Net present value at bar 0 of per-bar `flows` (T, K) at per-bar `rate` (K,)."""
    t = np.arange(flows.shape[0], dtype="float64")[:, None]
    return np.sum(flows * np.exp(-t * np.log1p(rate)[None, :]), axis=0)


def money_weighted_return(
    asset_flows: np.ndarray, holding_value: np.ndarray, periods_per_year: float, iterations: int = 100
) -> np.ndarray:
    """Internal rate of return of each column's cash flows, annualized: the per-bar rate r with
    sum_t -flow_t / (1 + r)^t + value_{T-1} / (1 + r)^(T-1) = 0, as (1 + r)^periods_per_year - 1.

    Found by bisection between annual rates of -99% and +999,900% (per bar: (1 + annual)^(1/P) - 1), where the
    NPV of an investment (money in first, value out at the end) falls as r rises; NaN when nothing was
    invested or the NPV does not change sign there.
    """
    flows = -np.asarray(asset_flows, dtype="float64").copy()
    flows[-1] += np.asarray(holding_value, dtype="float64")[-1]
    k = flows.shape[1]
    lo: np.ndarray = np.full(k, 0.01 ** (1.0 / periods_per_year) - 1.0)
    hi: np.ndarray = np.full(k, 1e4 ** (1.0 / periods_per_year) - 1.0)
    f_lo, f_hi = _npv(lo, flows), _npv(hi, flows)
    ok = (np.sign(f_lo) != np.sign(f_hi)) & (np.asarray(asset_flows).max(axis=0) > 0)
    for _ in range(iterations):
        mid = (lo + hi) / 2.0
        f_mid = _npv(mid, flows)
        same = np.sign(f_mid) == np.sign(f_lo)
        lo, f_lo = np.where(same, mid, lo), np.where(same, f_mid, f_lo)
        hi = np.where(same, hi, mid)
    rate = (lo + hi) / 2.0
    return np.where(ok, (1.0 + rate) ** periods_per_year - 1.0, np.nan)

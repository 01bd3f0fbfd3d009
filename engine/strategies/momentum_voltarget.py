"""`momentum_voltarget`: cross-asset momentum scaled to a target volatility.

Monthly, at the close of the first bar of each month (as `momentum_rotation`): rank the symbols by trailing
return (pandas-ta roc over `lookback` bars, skipping the latest `skip`), pick the top k = min(top_n, N)
equally weighted, then scale the basket so its trailing realized volatility — the sample std (ddof=1) of
the basket's daily returns over the last `vol_lookback` bars, with today's picks held over that window,
x sqrt(252) — equals `target_vol`, at most `max_leverage` times equity in total. Held until the next month.
Daily returns are taken on closes held over rows where a symbol has no bar (0 on those rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import first_bar_of_month, require_symbols
from engine.strategies.regimes import TRADING_DAYS
from engine.strategies.rotation import trailing_return


def basket_volatility(returns: np.ndarray, picks: np.ndarray, t: int, lookback: int) -> float:
    """Annualized sample std of the basket `picks` (weights) over returns rows t-lookback+1 .. t (NaN if short)."""
    if t + 1 < lookback + 1:  # row 0 has no return
        return math.nan
    window = returns[t - lookback + 1 : t + 1]
    basket = np.nan_to_num(window) @ picks
    return float(np.std(basket, ddof=1) * math.sqrt(TRADING_DAYS))


class MomentumVolTarget(Strategy):
    """Top-N momentum basket, rebalanced monthly, levered up or down to a target annual volatility."""

    name = "momentum_voltarget"
    description = "Monthly: top N symbols by trailing return, scaled to a target volatility (capped leverage)."

    @dataclass(frozen=True)
    class Params:
        lookback: int = param(126, 21, 252, 21, doc="trailing-return window, bars (126 ~ 6 months)")
        skip: int = param(21, 0, 21, 21, doc="ignore the most recent bars (21 ~ skip the last month)")
        top_n: int = param(2, 1, 10, 1, doc="number of symbols held")
        target_vol: float = param(0.10, 0.05, 0.30, 0.05, doc="target annual volatility of the basket")
        vol_lookback: int = param(63, 21, 126, 21, doc="realized-volatility window, bars")
        max_leverage: float = param(1.0, 0.5, 2.0, 0.5, doc="cap on the sum of weights")

        def __post_init__(self) -> None:
            require(self.lookback >= 1, f"lookback must be >= 1 bar, got {self.lookback}")
            require(self.skip >= 0, f"skip must be >= 0 bars, got {self.skip}")
            require(self.top_n >= 1, f"top_n must be >= 1, got {self.top_n}")
            require(self.target_vol > 0, f"target_vol must be > 0, got {self.target_vol}")
            require(self.vol_lookback >= 2, f"vol_lookback must be >= 2 bars, got {self.vol_lookback}")
            require(self.max_leverage > 0, f"max_leverage must be > 0, got {self.max_leverage}")

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        require_symbols(self.name, data, 2)
        p = self.params
        k = min(p.top_n, len(data.symbols))
        momentum = trailing_return(data, p.lookback, p.skip)
        rank = momentum.rank(axis=1, ascending=False, method="first").to_numpy()
        returns = data.close.ffill().pct_change().to_numpy()
        out = np.full(data.close.shape, np.nan)
        for t in np.flatnonzero(first_bar_of_month(data.index)):
            picks = np.where(rank[t] <= k, 1.0 / k, 0.0)
            if not picks.any():
                continue
            vol = basket_volatility(returns, picks, t, p.vol_lookback)
            if not math.isfinite(vol):
                continue
            scale = p.max_leverage if vol == 0 else min(p.target_vol / vol, p.max_leverage)
            out[t] = picks * scale
        return pd.DataFrame(out, index=data.index, columns=data.close.columns).ffill().fillna(0.0)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The trailing return each symbol is ranked by (a fraction), in a momentum panel."""
        p = self.params
        return {f"return {p.lookback} bars": PlotSeries(trailing_return(data, p.lookback, p.skip), "momentum")}

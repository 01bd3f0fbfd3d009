"""Cross-sectional momentum rotation (`momentum_rotation`).

Monthly: at the close of the first bar of each month (the first close after a month end; knowing that a bar
is the *last* of its month would need the next bar), rank the symbols by trailing return and hold the top N
equally weighted until the next rebalance. Needs at least two symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import first_bar_of_month, indicator, per_symbol, require_symbols, ta


def trailing_return(data: MarketData, lookback: int, skip: int) -> pd.DataFrame:
    """close[t - skip] / close[t - skip - lookback] - 1 per symbol on its own bars (pandas-ta roc / 100).

    Spread over the union index by holding each symbol's last value over rows where it has no bar.
    """

    def one(bars: pd.DataFrame) -> pd.Series:
        close = bars["close"]
        roc = indicator(ta.roc(close, length=lookback, talib=False), close.index)
        return roc.shift(skip) / 100.0

    return per_symbol(data, one).ffill()


class MomentumRotation(Strategy):
    """Hold the top `top_n` symbols by trailing `lookback`-bar return, skipping the latest `skip` bars.

    At each rebalance bar, symbols whose trailing return is defined are ranked (ties: earlier column first);
    each of the best k = min(top_n, n_symbols) gets weight 1/k. If fewer than k are ranked, the rest stays in
    cash. Weights are held between rebalances and are 0 before the first one.
    """

    name = "momentum_rotation"
    description = "Monthly: hold the top N symbols by trailing return, equally weighted."

    @dataclass(frozen=True)
    class Params:
        lookback: int = param(126, 21, 252, 21, doc="trailing-return window, bars (126 ~ 6 months)")
        skip: int = param(0, 0, 21, 21, doc="ignore the most recent bars (21 ~ skip the last month)")
        top_n: int = param(3, 1, 10, 1, doc="number of symbols held")

        def __post_init__(self) -> None:
            require(self.lookback >= 1, f"lookback must be >= 1 bar, got {self.lookback}")
            require(self.skip >= 0, f"skip must be >= 0 bars, got {self.skip}")
            require(self.top_n >= 1, f"top_n must be >= 1, got {self.top_n}")

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The trailing return each symbol is ranked by (a fraction), in a momentum panel."""
        p = self.params
        return {f"return {p.lookback} bars": PlotSeries(trailing_return(data, p.lookback, p.skip), "momentum")}

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        require_symbols(self.name, data, 2)
        p = self.params
        k = min(p.top_n, len(data.symbols))
        momentum = trailing_return(data, p.lookback, p.skip)
        rank = momentum.rank(axis=1, ascending=False, method="first")
        chosen = (rank <= k).astype("float64") / k
        rebalance = first_bar_of_month(data.index)
        weights = chosen.where(pd.Series(rebalance, index=data.index), axis=0)
        return weights.ffill().fillna(0.0).astype("float64")

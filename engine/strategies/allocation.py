"""Allocation strategies: `buy_and_hold` (the benchmark) and `inverse_vol` (risk-parity style).

Both hold every symbol; neither times the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import first_bar_of_month, indicator, per_symbol, ta


class BuyAndHold(Strategy):
    """Equal weight in every symbol from its first bar on.

    Default: each symbol gets 1/N (N = number of symbols) from the close of its first bar; a symbol not listed
    yet leaves its 1/N in cash, so listings never force the others to rebalance. With `renormalize`, the
    weight is 1/k(t) over the k(t) symbols listed by bar t (fully invested, rebalanced at each listing).
    """

    name = "buy_and_hold"
    description = "Equal weight in every symbol from its first bar (the benchmark)."

    @dataclass(frozen=True)
    class Params:
        renormalize: bool = param(False, choices=(False, True), doc="split 100% over listed symbols only")

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """No indicator: buy-and-hold decides nothing from the prices (its entries are on the chart)."""
        return {}

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        listed = data.close.notna().cummax().astype("float64")
        if self.params.renormalize:
            count = listed.sum(axis=1)
            return listed.div(count.where(count > 0), axis=0).fillna(0.0)
        return listed / len(data.symbols)


def trailing_volatility(data: MarketData, lookback: int) -> pd.DataFrame:
    """Sample std (ddof=1) of daily simple returns over the last `lookback` returns, per symbol on its own bars.

    Not annualized (only ratios matter). Held over rows where a symbol has no bar.
    """

    def one(bars: pd.DataFrame) -> pd.Series:
        close = bars["close"]
        ret = indicator(ta.percent_return(close), close.index)
        return indicator(ta.stdev(ret, length=lookback, talib=False), close.index)

    return per_symbol(data, one).ffill()


class InverseVol(Strategy):
    """Weights proportional to 1 / trailing volatility, summing to 1, rebalanced monthly.

    Rebalance at the close of the first bar of each month (see `momentum_rotation` for why not the last).
    Symbols whose volatility is undefined (warm-up, not listed) or zero are left out; weights are held
    between rebalances and are 0 before the first one.
    """

    name = "inverse_vol"
    description = "Monthly rebalanced weights proportional to 1 / trailing volatility."

    @dataclass(frozen=True)
    class Params:
        lookback: int = param(63, 21, 252, 21, doc="volatility window, bars of daily returns")

        def __post_init__(self) -> None:
            require(self.lookback >= 2, f"lookback must be >= 2 bars, got {self.lookback}")

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The trailing volatility the weights are inverse to (daily, a fraction), in a volatility panel."""
        lookback = self.params.lookback
        return {f"volatility {lookback}": PlotSeries(trailing_volatility(data, lookback), "volatility")}

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        vol = trailing_volatility(data, self.params.lookback)
        inv = 1.0 / vol.where(vol > 0)
        total = inv.sum(axis=1, min_count=1)
        weights = inv.div(total, axis=0).fillna(0.0)
        rebalance = first_bar_of_month(data.index) & total.notna().to_numpy()
        weights = weights.where(pd.Series(rebalance, index=data.index), axis=0)
        return weights.ffill().fillna(0.0).astype("float64")

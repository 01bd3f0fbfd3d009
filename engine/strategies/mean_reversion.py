"""Mean-reversion strategies: `rsi_reversion` and `bollinger_rsi` (long only).

Computed per symbol on its own bars, decided at the close of bar t with data up to t. Several symbols: each
symbol gets `weight / n_symbols` (n = columns of the data, fixed).

RSI is pandas-ta's (Wilder smoothing). pandas-ta already prints a value from the second bar; we count it as
defined only from bar `length` (after `length` price changes), so the warm-up is honest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import hold, indicator, indicator_frame, per_symbol, ta, to_union


def rsi(close: pd.Series, length: int) -> pd.Series:
    """pandas-ta RSI (0..100), NaN for the first `length` bars (warm-up)."""
    values = indicator(ta.rsi(close, length=length, talib=False), close.index).astype("float64")
    values.iloc[:length] = np.nan
    return values


def level(data: MarketData, value: float) -> pd.DataFrame:
    """A constant threshold (an RSI level) on every bar a symbol has, NaN elsewhere: a flat line in a panel."""
    return pd.DataFrame(value, index=data.index, columns=data.close.columns).where(data.close.notna())


def rsi_lines(data: MarketData, length: int, thresholds: dict[str, float]) -> dict[str, PlotSeries]:
    """The RSI of each symbol's own closes (as `rsi` warms it up) and the strategy's thresholds, in an RSI panel."""
    lines = {f"RSI {length}": PlotSeries(per_symbol(data, lambda bars: rsi(bars["close"], length)), "RSI")}
    lines.update({label: PlotSeries(level(data, value), "RSI") for label, value in thresholds.items()})
    return lines


class RsiReversion(Strategy):
    """Buy oversold, sell on recovery.

    Enter long at the close of a bar with RSI < `lower`; exit at the close of the first later bar with
    RSI > `exit_level`. Between the two the position is held.
    """

    name = "rsi_reversion"
    description = "Long when RSI drops below `lower`, flat once it rises above `exit_level`."

    @dataclass(frozen=True)
    class Params:
        length: int = param(14, 2, 30, 2, doc="RSI window, bars")
        lower: float = param(30.0, 10.0, 40.0, 5.0, doc="enter long below this RSI")
        exit_level: float = param(50.0, 40.0, 80.0, 5.0, doc="exit above this RSI")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while long (split over symbols)")

        def __post_init__(self) -> None:
            require(self.length >= 2, f"length must be >= 2 bars, got {self.length}")
            require(0 < self.lower < 100, f"lower must be in (0, 100), got {self.lower}")
            require(0 < self.exit_level < 100, f"exit_level must be in (0, 100), got {self.exit_level}")
            require(self.lower < self.exit_level, f"lower ({self.lower}) must be below exit_level ({self.exit_level})")
            require(0 < self.weight <= 10, f"weight must be in (0, 10], got {self.weight}")

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """RSI with the entry (`lower`) and exit (`exit_level`) thresholds, in an RSI panel."""
        p = self.params
        return rsi_lines(
            data, p.length, {f"enter below {p.lower:g}": p.lower, f"exit above {p.exit_level:g}": p.exit_level}
        )

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        size = p.weight / len(data.symbols)

        def one(bars: pd.DataFrame) -> pd.Series:
            r = rsi(bars["close"], p.length).to_numpy()
            with np.errstate(invalid="ignore"):
                pos = hold(r < p.lower, r > p.exit_level)
            return pd.Series(pos * size, index=bars.index)

        return to_union(per_symbol(data, one), data)


class BollingerRsi(Strategy):
    """Buy a close below the lower Bollinger band while RSI is oversold; exit at the middle band.

    Bands: SMA(close, bb_length) +- bb_std * sample std (ddof=1) of the same window (pandas-ta bbands).
    Enter long at the close of a bar with close < lower band and RSI < `rsi_lower`; exit at the close of the
    first later bar with close > middle band.
    """

    name = "bollinger_rsi"
    description = "Long below the lower Bollinger band with RSI oversold, flat above the middle band."

    @dataclass(frozen=True)
    class Params:
        bb_length: int = param(20, 10, 50, 5, doc="Bollinger window, bars")
        bb_std: float = param(2.0, 1.0, 3.0, 0.5, doc="band width in standard deviations")
        rsi_length: int = param(14, 2, 30, 2, doc="RSI window, bars")
        rsi_lower: float = param(30.0, 10.0, 50.0, 5.0, doc="RSI must be below this to enter")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while long (split over symbols)")

        def __post_init__(self) -> None:
            require(self.bb_length >= 2, f"bb_length must be >= 2 bars, got {self.bb_length}")
            require(self.bb_std > 0, f"bb_std must be > 0, got {self.bb_std}")
            require(self.rsi_length >= 2, f"rsi_length must be >= 2 bars, got {self.rsi_length}")
            require(0 < self.rsi_lower < 100, f"rsi_lower must be in (0, 100), got {self.rsi_lower}")
            require(0 < self.weight <= 10, f"weight must be in (0, 10], got {self.weight}")

    def _bands(self, close: pd.Series) -> pd.DataFrame:
        """pandas-ta's Bollinger frame, positional columns: 0 = lower, 1 = middle, 2 = upper band."""
        p = self.params
        bands = ta.bbands(close, length=p.bb_length, lower_std=p.bb_std, upper_std=p.bb_std, talib=False)
        return indicator_frame(bands, close.index, 5)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The three Bollinger bands on the price axis; the RSI and its entry threshold in an RSI panel."""
        p = self.params

        def band(col: int) -> PlotSeries:
            return PlotSeries(per_symbol(data, lambda bars: self._bands(bars["close"])[col]))

        bands = {f"BB {name}": band(col) for col, name in enumerate(("lower", "middle", "upper"))}
        return {**bands, **rsi_lines(data, p.rsi_length, {f"enter below {p.rsi_lower:g}": p.rsi_lower})}

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        size = p.weight / len(data.symbols)

        def one(bars: pd.DataFrame) -> pd.Series:
            close = bars["close"]
            bands = self._bands(close)
            lower, middle = bands[0].to_numpy(), bands[1].to_numpy()
            r = rsi(close, p.rsi_length).to_numpy()
            c = close.to_numpy()
            with np.errstate(invalid="ignore"):
                pos = hold((c < lower) & (r < p.rsi_lower), c > middle)
            return pd.Series(pos * size, index=close.index)

        return to_union(per_symbol(data, one), data)

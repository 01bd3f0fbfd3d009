"""Trend followers: `ema_trend` (EMA filter with ATR stops) and `macd` (MACD above its signal line).

Both are computed per symbol on its own bars and decided at the close of bar t with data up to t.
Several symbols: each symbol gets `weight / n_symbols` (n = columns of the data, fixed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import indicator, indicator_frame, per_symbol, ta, to_union


class EmaTrend(Strategy):
    """Long while the close is above a rising EMA; ATR-scaled stop-loss, take-profit and trailing stop.

    In trend at bar t: close[t] > EMA[t] and EMA[t] > EMA[t - slope_bars]. Flat otherwise, and during warm-up
    (until the EMA, its slope and the ATR are all defined).

    Stops (`stop_fractions`): at bar t, `sl_atr * ATR[t] / close[t]` (stop-loss), `tp_atr * ATR / close`
    (take-profit) and `trail_atr * ATR / close` (trailing stop), fractions of the entry price; the simulator
    uses the values of the entry's signal bar for the whole trade. A multiplier of 0 switches that stop off.
    Stop-loss and trailing fractions are capped at 1 (a 100% stop never triggers).
    """

    name = "ema_trend"
    description = "Long while close > a rising EMA, with ATR stop-loss / take-profit / trailing stop."

    @dataclass(frozen=True)
    class Params:
        length: int = param(50, 10, 200, 10, doc="EMA span, bars")
        slope_bars: int = param(5, 1, 20, 1, doc="EMA must be above its value this many bars ago")
        atr_length: int = param(14, 5, 50, 5, doc="ATR window (Wilder smoothing), bars")
        sl_atr: float = param(2.0, 0.0, 5.0, 0.5, doc="stop-loss distance in ATRs (0 = off)")
        tp_atr: float = param(4.0, 0.0, 10.0, 1.0, doc="take-profit distance in ATRs (0 = off)")
        trail_atr: float = param(3.0, 0.0, 6.0, 0.5, doc="trailing-stop distance in ATRs (0 = off)")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while in trend (split over symbols)")

        def __post_init__(self) -> None:
            require(self.length >= 2, f"length must be >= 2 bars, got {self.length}")
            require(self.slope_bars >= 1, f"slope_bars must be >= 1, got {self.slope_bars}")
            require(self.atr_length >= 1, f"atr_length must be >= 1, got {self.atr_length}")
            require(0 < self.weight <= 10, f"weight must be in (0, 10], got {self.weight}")

    def _ema(self, close: pd.Series) -> pd.Series:
        return indicator(ta.ema(close, length=self.params.length, talib=False), close.index)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The trend EMA on the price axis (the stops it sets per trade are drawn from `stop_fractions`)."""
        return {f"EMA {self.params.length}": PlotSeries(per_symbol(data, lambda bars: self._ema(bars["close"])))}

    def _atr_fraction(self, bars: pd.DataFrame) -> pd.Series:
        atr = indicator(
            ta.atr(bars["high"], bars["low"], bars["close"], length=self.params.atr_length, talib=False), bars.index
        )
        return atr / bars["close"]

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        size = p.weight / len(data.symbols)

        def one(bars: pd.DataFrame) -> pd.Series:
            close = bars["close"]
            ema = self._ema(close)
            past = ema.shift(p.slope_bars)
            atr = self._atr_fraction(bars)
            ready = ema.notna() & past.notna() & atr.notna()
            trend = ready & (close > ema) & (ema > past)
            return trend.astype("float64") * size

        return to_union(per_symbol(data, one, ("high", "low", "close")), data)

    def stop_fractions(self, data: MarketData) -> dict[str, pd.DataFrame] | None:
        p = self.params
        wanted = {"stop_loss": p.sl_atr, "take_profit": p.tp_atr, "trailing_stop": p.trail_atr}
        wanted = {k: v for k, v in wanted.items() if v > 0}
        if not wanted:
            return None
        frac = per_symbol(data, self._atr_fraction, ("high", "low", "close")).ffill()
        out = {}
        for key, mult in wanted.items():
            value = frac * mult
            out[key] = value.clip(upper=1.0) if key != "take_profit" else value
        return out


class Macd(Strategy):
    """Long while the MACD line is above its signal line; optionally short while below.

    MACD = EMA(close, fast) - EMA(close, slow); signal = EMA(MACD, signal) (pandas-ta). Flat when they are
    equal and during warm-up (until the signal line is defined).
    """

    name = "macd"
    description = "Long while MACD > its signal line (optional short below it)."

    @dataclass(frozen=True)
    class Params:
        fast: int = param(12, 4, 30, 2, doc="fast EMA span, bars")
        slow: int = param(26, 10, 80, 4, doc="slow EMA span, bars")
        signal: int = param(9, 3, 20, 1, doc="signal EMA span, bars")
        allow_short: bool = param(False, choices=(False, True), doc="hold -weight while MACD < signal")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while in a position (split over symbols)")

        def __post_init__(self) -> None:
            require(self.fast >= 1, f"fast must be >= 1 bar, got {self.fast}")
            require(self.fast < self.slow, f"fast ({self.fast}) must be shorter than slow ({self.slow})")
            require(self.signal >= 1, f"signal must be >= 1 bar, got {self.signal}")
            require(0 < self.weight <= 10, f"weight must be in (0, 10], got {self.weight}")

    def _macd(self, close: pd.Series) -> pd.DataFrame:
        """pandas-ta's MACD frame, positional columns: 0 = MACD line, 1 = histogram, 2 = signal line."""
        p = self.params
        return indicator_frame(ta.macd(close, fast=p.fast, slow=p.slow, signal=p.signal, talib=False), close.index, 3)

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The MACD line and its signal line, in a MACD panel below the prices."""
        return {
            "MACD": PlotSeries(per_symbol(data, lambda bars: self._macd(bars["close"])[0]), "MACD"),
            "signal": PlotSeries(per_symbol(data, lambda bars: self._macd(bars["close"])[2]), "MACD"),
        }

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        size = p.weight / len(data.symbols)

        def one(bars: pd.DataFrame) -> pd.Series:
            close = bars["close"]
            m = self._macd(close)
            line, sig = m[0].to_numpy(), m[2].to_numpy()
            with np.errstate(invalid="ignore"):
                above, below = line > sig, line < sig
            pos = above.astype("float64") - (below.astype("float64") if p.allow_short else 0.0)
            return pd.Series(pos * size, index=close.index)

        return to_union(per_symbol(data, one), data)

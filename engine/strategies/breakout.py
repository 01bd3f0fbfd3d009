"""Donchian / Turtle channel breakout (`donchian_breakout`).

Turtle systems: System 1 enters on a 20-bar breakout and exits on a 10-bar counter-breakout; System 2 uses
55 / 20. Channels are pandas-ta `donchian` over highs and lows of the **prior** N bars (shifted one bar, so
bar t's own high is not part of the level it must break). Computed per symbol on its own bars; decided at the
close of bar t. Several symbols: each gets `weight / n_symbols` (n = columns of the data, fixed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.strategies.base import PlotSeries, Strategy, param, require
from engine.strategies.common import hold, indicator_frame, per_symbol, ta, to_union

SYSTEMS: dict[int, tuple[int, int]] = {20: (20, 10), 55: (55, 20)}
"""Turtle system -> (entry channel, exit channel) in bars."""


def prior_channel(bars: pd.DataFrame, low_length: int, high_length: int) -> tuple[np.ndarray, np.ndarray]:
    """(lowest low of the prior `low_length` bars, highest high of the prior `high_length` bars) per bar."""
    dc = indicator_frame(
        ta.donchian(bars["high"], bars["low"], lower_length=low_length, upper_length=high_length), bars.index, 3
    )
    prior = dc.shift(1)
    return prior[0].to_numpy(), prior[2].to_numpy()


class DonchianBreakout(Strategy):
    """Turtle breakout.

    Long: enter at the close of a bar whose close is above the highest high of the prior `entry` bars; exit
    at the close of a bar whose close is below the lowest low of the prior `exit` bars. Short (optional)
    mirrors it; an entry on the other side flips. (entry, exit) = (20, 10) for system 20, (55, 20) for 55.
    Flat during warm-up (the first `entry` bars).
    """

    name = "donchian_breakout"
    description = "Turtle breakout: long above the prior 20 (55)-bar high, exit below the prior 10 (20)-bar low."

    @dataclass(frozen=True)
    class Params:
        system: int = param(20, choices=(20, 55), doc="Turtle system: 20 -> 20/10 bars, 55 -> 55/20 bars")
        allow_short: bool = param(False, choices=(False, True), doc="also trade downside breakouts")
        weight: float = param(1.0, 0.1, 1.0, 0.1, doc="target weight while in a position (split over symbols)")

        def __post_init__(self) -> None:
            require(self.system in SYSTEMS, f"system must be one of {sorted(SYSTEMS)}, got {self.system}")
            require(0 < self.weight <= 10, f"weight must be in (0, 10], got {self.weight}")

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The prior-bar channels a close must break: the entry high and exit low (and, when shorting, the
        entry low and exit high), on the price axis."""
        p = self.params
        entry, exit_ = SYSTEMS[p.system]
        fields = ("high", "low", "close")

        def channel(low_length: int, high_length: int, side: int) -> PlotSeries:
            def one(bars: pd.DataFrame) -> np.ndarray:
                return prior_channel(bars, low_length, high_length)[side]

            return PlotSeries(per_symbol(data, one, fields))

        lines = {
            f"{entry}-bar high (entry)": channel(exit_, entry, 1),
            f"{exit_}-bar low (exit)": channel(exit_, entry, 0),
        }
        if p.allow_short:
            lines[f"{entry}-bar low (short entry)"] = channel(entry, exit_, 0)
            lines[f"{exit_}-bar high (short exit)"] = channel(entry, exit_, 1)
        return lines

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        p = self.params
        entry, exit_ = SYSTEMS[p.system]
        size = p.weight / len(data.symbols)

        def one(bars: pd.DataFrame) -> pd.Series:
            c = bars["close"].to_numpy()
            exit_low, entry_high = prior_channel(bars, exit_, entry)
            with np.errstate(invalid="ignore"):
                long_in, long_out = c > entry_high, c < exit_low
                if p.allow_short:
                    entry_low, exit_high = prior_channel(bars, entry, exit_)
                    pos = hold(long_in, long_out, c < entry_low, c > exit_high)
                else:
                    pos = hold(long_in, long_out)
            return pd.Series(pos * size, index=bars.index)

        return to_union(per_symbol(data, one, ("high", "low", "close")), data)

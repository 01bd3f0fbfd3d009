"""Look-ahead audit of the screener: every column at the as-of date is computed from bars up to it only, so
changing (or dropping) every later bar leaves the screen at as-of unchanged; changing a bar at or before as-of
does change it (the audit can fail)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data import load_market_data
from engine.data.market import MarketData
from engine.research.screen import ScreenSpec, run_screen
from engine.research.screen_columns import regime_available

SYMBOLS = ["SPY", "QQQ", "TLT", "GLD"]
ASOF = "2018-06-29"
COLUMNS = ("rsi_14", "sma_dist_200", "vol_21", "sharpe_126", "beta_63", "active_return", "signal:sma_cross", "close")
COLUMNS += ("regime",) if regime_available() else ()  # the regime label, when its module is installed


def _altered(data: MarketData, after: bool) -> MarketData:
    """Every bar after as-of (after=True) or the as-of bar itself multiplied by a random factor."""
    rng = np.random.default_rng(7)
    stamp = pd.Timestamp(ASOF)
    rows = data.index > stamp if after else data.index == stamp
    frames = {}
    for f in ("open", "high", "low", "close", "volume"):
        frame = getattr(data, f).copy()
        frame.loc[rows] = frame.loc[rows] * rng.uniform(0.5, 1.5, size=frame.loc[rows].shape)
        frames[f] = frame
    return MarketData(**frames)


def test_values_at_asof_do_not_change_when_later_bars_do() -> None:
    data = load_market_data(SYMBOLS)
    assert (data.index > pd.Timestamp(ASOF)).sum() > 100
    spec = ScreenSpec(symbols=SYMBOLS, rank="momentum_63", columns=COLUMNS, asof=ASOF)
    base = run_screen(spec, data=data).table
    later = run_screen(spec, data=_altered(data, after=True)).table
    pd.testing.assert_frame_equal(base, later)
    assert base["last_bar"].eq(ASOF).all()


def test_changing_the_asof_bar_does_change_the_screen() -> None:
    data = load_market_data(SYMBOLS)
    spec = ScreenSpec(symbols=SYMBOLS, rank="momentum_63", columns=COLUMNS, asof=ASOF)
    base = run_screen(spec, data=data).table.sort_index()
    moved = run_screen(spec, data=_altered(data, after=False)).table.sort_index()
    assert not np.allclose(base["momentum_63"], moved["momentum_63"])
    assert not np.allclose(base["rsi_14"], moved["rsi_14"])

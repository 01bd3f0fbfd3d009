"""Live vs backtest tracking for the desk: a preset's backtest over the dates of an account's equity snapshots,
rebased to the first snapshot's equity, so the Desk page draws both curves on the same points.

Alignment: a snapshot (a UTC timestamp) belongs to its New York session date and is matched with the backtest's
equity at the last close on or before that date (a weekend snapshot takes Friday's close). Snapshots dated before
the backtest's first bar or after its last one have no backtest value and are left out. Rebasing: the backtest's
equity is scaled by one factor so that, at the first snapshot that has a value, it equals that snapshot's equity.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from engine.request import run_request
from engine.store.presets import load_preset

MARKET_TZ = "America/New_York"


def session_dates(index: pd.Index) -> pd.DatetimeIndex:
    """The New York session date (midnight, tz-naive) of each timestamp (a tz-naive timestamp is read as UTC)."""
    ts = pd.DatetimeIndex(index)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts
    return ts.tz_convert(MARKET_TZ).tz_localize(None).normalize()


def rebase_to_snapshots(live: pd.Series, backtest: pd.Series) -> pd.Series:
    """The backtest's equity at each snapshot of `live` (equity indexed by snapshot time), rebased so that at
    the first snapshot with a backtest value it equals that snapshot's equity. Indexed like `live` (minus the
    snapshots outside the backtest's dates); empty when none overlaps. Named "backtest"."""
    bt = backtest.dropna().sort_index()
    if live.empty or bt.empty:
        return pd.Series(dtype="float64", name="backtest")
    bt.index = pd.DatetimeIndex(bt.index).tz_localize(None).normalize()
    dates = session_dates(live.index)
    inside = (dates >= bt.index[0]) & (dates <= bt.index[-1])
    if not inside.any():
        return pd.Series(dtype="float64", name="backtest")
    at = bt.reindex(bt.index.union(dates[inside])).ffill().loc[dates[inside]].to_numpy(dtype="float64")
    matched = live[inside]
    factor = float(matched.iloc[0]) / at[0]
    return pd.Series(at * factor, index=matched.index, name="backtest")


def preset_tracking(preset: str, live: pd.Series) -> pd.Series:
    """Run the preset's backtest from the first to the last snapshot's session date and rebase it onto the
    snapshots (`rebase_to_snapshots`). Raises EngineError (e.g. DataError: no bars over those dates)."""
    if live.empty:
        return pd.Series(dtype="float64", name="backtest")
    dates = session_dates(live.index)
    request = replace(
        load_preset(preset).to_request(),
        start=dates.min().date().isoformat(),
        end=dates.max().date().isoformat(),
    )
    return rebase_to_snapshots(live, run_request(request).equity)

"""engine.ops.desk_tracking: a preset's backtest aligned to the account snapshots and rebased to the first
snapshot's equity (values worked out by hand), and the preset's backtest run over the snapshot dates."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.ops.desk_tracking import preset_tracking, rebase_to_snapshots, session_dates


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_rebase_aligns_each_snapshot_to_its_session_close_and_scales_to_the_first_equity():
    bars = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])
    backtest = pd.Series([200.0, 210.0, 190.0, 220.0, 230.0], index=bars)
    live = pd.Series(
        [1000.0, 1020.0, 1080.0, 1150.0],
        index=pd.DatetimeIndex(
            [
                utc("2024-01-02 15:00"),  # 10:00 New York, Jan 2 -> Jan 2 close 200
                utc("2024-01-03 21:30"),  # 16:30 New York, Jan 3 -> 210
                utc("2024-01-06 15:00"),  # Saturday -> Friday Jan 5 close 220
                utc("2024-01-09 03:00"),  # 22:00 New York on Jan 8 -> 230
            ]
        ),
    )
    out = rebase_to_snapshots(live, backtest)
    # factor = 1000 / 200 = 5
    assert out.tolist() == pytest.approx([1000.0, 1050.0, 1100.0, 1150.0])
    assert list(out.index) == list(live.index) and out.name == "backtest"


def test_snapshots_outside_the_backtest_are_left_out_and_the_first_matched_one_anchors():
    bars = pd.to_datetime(["2024-01-03", "2024-01-04"])
    backtest = pd.Series([100.0, 110.0], index=bars)
    live = pd.Series(
        [900.0, 500.0, 520.0, 999.0],
        index=pd.DatetimeIndex(
            [utc("2024-01-02 18:00"), utc("2024-01-03 18:00"), utc("2024-01-04 18:00"), utc("2024-01-10 18:00")]
        ),
    )
    out = rebase_to_snapshots(live, backtest)
    # Jan 2 is before the first bar, Jan 10 after the last: out. Anchor Jan 3: 500 / 100 = 5 -> 500, 550
    assert out.tolist() == pytest.approx([500.0, 550.0])
    assert list(out.index) == [utc("2024-01-03 18:00"), utc("2024-01-04 18:00")]


def test_no_overlap_gives_an_empty_series():
    backtest = pd.Series([100.0], index=pd.to_datetime(["2024-01-03"]))
    live = pd.Series([1.0], index=pd.DatetimeIndex([utc("2025-01-03 18:00")]))
    assert rebase_to_snapshots(live, backtest).empty
    assert rebase_to_snapshots(live.iloc[:0], backtest).empty


def test_session_dates_use_new_york_time():
    idx = pd.DatetimeIndex([utc("2024-03-01 04:59"), utc("2024-03-01 05:00")])  # EST = UTC-5
    assert list(session_dates(idx)) == [pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-01")]


def test_preset_tracking_starts_at_the_first_snapshot_equity(home):
    # spy_trend on the bundled SPY sample from 2026-06-01 to 2026-06-05 (5 bars)
    live = pd.Series(
        [50_000.0, 50_500.0],
        index=pd.DatetimeIndex([utc("2026-06-01 20:00"), utc("2026-06-05 20:00")]),
    )
    out = preset_tracking("spy_trend", live)
    assert len(out) == 2 and out.iloc[0] == pytest.approx(50_000.0)

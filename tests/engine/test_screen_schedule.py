"""Scheduled screens: `due` per N-minute slot or time of day (never ahead of time, once per slot), and a real
queue and worker run twice on a data folder where one symbol enters the screen between the runs: the second run
sends a `screen_changed` alert, stored in the in-app list (the workspace's SQLite database), naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engine.alerts.inbox import Inbox
from engine.batch.queue import JobQueue
from engine.batch.screen_schedules import ScreenSchedule, ScreenScheduleStore, check_timing, due
from engine.batch.worker import run_worker
from engine.errors import ConfigError
from engine.research.screen import ScreenSpec

SPEC = ScreenSpec(symbols=["SPY"], rank="momentum_5")


def test_every_n_minutes_is_due_once_per_slot() -> None:
    s = ScreenSchedule(1, "x", SPEC, every_minutes=30)
    t = datetime(2024, 3, 13, 10, 5, tzinfo=UTC)
    key = due(s, t)
    assert key is not None
    s2 = ScreenSchedule(1, "x", SPEC, every_minutes=30, last_key=key)
    assert due(s2, t + timedelta(minutes=20)) is None  # same slot (10:00-10:30)
    assert due(s2, t + timedelta(minutes=26)) not in (None, key)  # 10:31: the next slot


def test_time_of_day_is_due_from_that_time_once_a_day() -> None:
    s = ScreenSchedule(2, "x", SPEC, at="16:30", tz="America/New_York")
    before = datetime(2024, 3, 13, 20, 29, tzinfo=UTC)  # 16:29 in New York (EDT)
    after = datetime(2024, 3, 13, 20, 31, tzinfo=UTC)
    assert due(s, before) is None
    key = due(s, after)
    assert key == "screen-2-2024-03-13"
    assert due(ScreenSchedule(2, "x", SPEC, at="16:30", tz="America/New_York", last_key=key), after) is None
    assert due(ScreenSchedule(2, "x", SPEC, at="16:30", enabled=False), after) is None


@pytest.mark.parametrize(
    ("every", "at", "tz", "message"),
    [
        (None, None, "UTC", "exactly one of"),
        (5, "10:00", "UTC", "exactly one of"),
        (0, None, "UTC", "every 0"),
        (None, "25:00", "UTC", "'25:00'"),
        (None, "10:00", "Mars/Base", "'Mars/Base'"),
    ],
)
def test_bad_timing_is_one_error(every, at, tz, message) -> None:
    with pytest.raises(ConfigError, match=message):
        check_timing(every, at, tz)


def _write(folder, symbol: str, close: pd.Series) -> None:
    frame = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1000.0}, index=close.index
    )
    frame.index.name = "date"
    frame.to_csv(folder / f"{symbol}.csv")


@pytest.mark.slow
def test_a_symbol_entering_the_screen_is_alerted_in_the_inbox(home, tmp_path) -> None:
    folder = tmp_path / "bars"
    folder.mkdir()
    days = pd.bdate_range("2024-01-02", periods=60)
    up = pd.Series(100.0 * 1.01 ** np.arange(60), index=days)
    down = pd.Series(100.0 * 0.99 ** np.arange(60), index=days)
    _write(folder, "AAA", up)
    _write(folder, "BBB", down)
    spec = ScreenSpec(symbols=["AAA", "BBB"], rank="momentum_5", filters=("momentum_5>0",), data_source=str(folder))
    store = ScreenScheduleStore()
    sched = store.add("risers", spec, every_minutes=15)
    queue = JobQueue()
    t0 = datetime(2024, 3, 29, 14, 0, tzinfo=UTC)

    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: t0) == 1
    first = store.get(sched.id)
    assert first.last_symbols == ("AAA",) and first.last_status == "baseline"
    assert [n for n in Inbox().list() if n.event == "screen_changed"] == []  # the first run only sets the baseline

    # BBB turns up on one more day of bars: its 5-day momentum becomes positive, so it enters the screen
    days2 = pd.bdate_range("2024-01-02", periods=61)
    _write(folder, "AAA", pd.Series(100.0 * 1.01 ** np.arange(61), index=days2))
    _write(folder, "BBB", pd.concat([down, pd.Series([down.iloc[-1] * 1.2], index=days2[-1:])]))
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: t0) == 0  # same slot: nothing queued
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: t0 + timedelta(minutes=15)) == 1

    second = store.get(sched.id)
    assert second.last_symbols is not None and set(second.last_symbols) == {"AAA", "BBB"}
    assert second.last_status == "changed"
    alerts = [n for n in Inbox().list() if n.event == "screen_changed"]
    assert len(alerts) == 1
    assert alerts[0].title == "Screen risers: 1 entered, 0 left"
    assert "entered: BBB" in alerts[0].text and "left: none" in alerts[0].text

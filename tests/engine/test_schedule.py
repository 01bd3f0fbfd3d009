"""Scheduled daily operations, the engine's part: NYSE trading days, `due` across time zones, DST and weekends,
`next_run`, and the schedules table (real SQLite in a temporary workspace). Expected instants are worked out by
hand from the zones' UTC offsets, not by the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.errors import ConfigError
from engine.ops.schedule import Schedule, ScheduleNotFound, ScheduleStore, due, job_key, next_run, run_date
from engine.ops.trading_days import holidays, is_trading_day, next_trading_day
from engine.store.presets import Preset, save_preset


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ny(at: str = "09:35", **kw) -> Schedule:
    return Schedule(id=1, preset="p", broker="paper", at=at, tz="America/New_York", **kw)


# --- trading days ------------------------------------------------------------------------------------------


def test_nyse_holidays_of_2024_and_2025_are_the_published_ones() -> None:
    assert sorted(holidays(2024)) == [
        date(2024, 1, 1),
        date(2024, 1, 15),  # Martin Luther King Jr. Day
        date(2024, 2, 19),  # Washington's Birthday
        date(2024, 3, 29),  # Good Friday
        date(2024, 5, 27),
        date(2024, 6, 19),
        date(2024, 7, 4),
        date(2024, 9, 2),
        date(2024, 11, 28),
        date(2024, 12, 25),
    ]
    assert sorted(holidays(2025)) == [
        date(2025, 1, 1),
        date(2025, 1, 20),
        date(2025, 2, 17),
        date(2025, 4, 18),
        date(2025, 5, 26),
        date(2025, 6, 19),
        date(2025, 7, 4),
        date(2025, 9, 1),
        date(2025, 11, 27),
        date(2025, 12, 25),
    ]


def test_weekend_holidays_move_to_the_nearest_weekday_except_new_year_on_a_saturday() -> None:
    assert not is_trading_day(date(2021, 12, 24))  # Christmas 2021 was a Saturday: closed on Friday the 24th
    assert not is_trading_day(date(2022, 6, 20))  # Juneteenth 2022 was a Sunday: closed on Monday the 20th
    assert not is_trading_day(date(2021, 7, 5))  # Independence Day 2021 was a Sunday
    assert is_trading_day(date(2021, 12, 31))  # New Year's Day 2022 was a Saturday: the Friday before trades
    assert is_trading_day(date(2021, 6, 18))  # no Juneteenth holiday before 2022
    assert not is_trading_day(date(2024, 3, 16)) and not is_trading_day(date(2024, 3, 17))  # Sat, Sun
    assert next_trading_day(date(2024, 3, 28)) == date(2024, 4, 1)  # Good Friday, then the weekend
    assert next_trading_day(date(2024, 3, 15)) == date(2024, 3, 18)


# --- due ---------------------------------------------------------------------------------------------------


def test_due_from_the_time_of_day_on_in_new_york_summer_and_winter_time() -> None:
    # Wednesday 2024-03-13, EDT (UTC-4): 09:35 New York = 13:35 UTC
    assert not due(ny(), utc(2024, 3, 13, 13, 34, 59))
    assert due(ny(), utc(2024, 3, 13, 13, 35))
    assert due(ny(), utc(2024, 3, 13, 20, 0))  # a worker back in the afternoon catches up the same day
    # Friday 2024-03-08, EST (UTC-5): 09:35 New York = 14:35 UTC
    assert not due(ny(), utc(2024, 3, 8, 14, 34))
    assert due(ny(), utc(2024, 3, 8, 14, 35))
    # Monday 2024-11-04, the day after the change back to EST: 14:35 UTC again, not 13:35
    assert not due(ny(), utc(2024, 11, 4, 14, 0))
    assert due(ny(), utc(2024, 11, 4, 14, 35))


def test_not_due_on_weekends_holidays_or_when_disabled() -> None:
    assert not due(ny(), utc(2024, 3, 16, 18, 0))  # Saturday
    assert not due(ny(), utc(2024, 3, 17, 18, 0))  # Sunday
    assert not due(ny(), utc(2024, 7, 4, 18, 0))  # Independence Day
    assert not due(ny(), utc(2024, 3, 29, 18, 0))  # Good Friday
    assert not due(ny(enabled=False), utc(2024, 3, 13, 18, 0))


def test_once_per_day_and_never_for_a_past_day() -> None:
    ran_today = ny(last_run_date=date(2024, 3, 13))
    assert not due(ran_today, utc(2024, 3, 13, 18, 0))
    # the next morning before 09:35 the missed or finished day is not run again, and today's not yet
    assert not due(ran_today, utc(2024, 3, 14, 13, 0))
    assert due(ran_today, utc(2024, 3, 14, 13, 35))
    # the worker was down all Thursday: on Friday only Friday's run happens, after its time of day
    assert not due(ran_today, utc(2024, 3, 15, 13, 34))
    assert run_date(ran_today, utc(2024, 3, 15, 13, 35)) == date(2024, 3, 15)


def test_the_trading_date_is_the_date_in_the_schedules_time_zone() -> None:
    tokyo = Schedule(id=2, preset="p", broker="paper", at="08:00", tz="Asia/Tokyo")
    # Thursday 23:30 UTC is Friday 08:30 in Tokyo (UTC+9, no DST): due for Friday
    assert due(tokyo, utc(2024, 3, 14, 23, 30))
    assert run_date(tokyo, utc(2024, 3, 14, 23, 30)) == date(2024, 3, 15)
    # Friday 23:30 UTC is Saturday 08:30 in Tokyo: not a trading day there
    assert not due(tokyo, utc(2024, 3, 15, 23, 30))
    # a naive time is UTC
    assert due(tokyo, datetime(2024, 3, 14, 23, 30)) and not due(tokyo, datetime(2024, 3, 14, 22, 59))


def test_a_time_skipped_by_a_dst_change_on_a_trading_day_runs_when_the_clock_passes_it() -> None:
    # Cairo moved from EET (UTC+2) to EEST (UTC+3) at 00:00 local on Friday 2023-04-28: 00:30 never happened;
    # the clock read 01:00 at 22:00 UTC on the 27th
    cairo = Schedule(id=3, preset="p", broker="paper", at="00:30", tz="Africa/Cairo", last_run_date=date(2023, 4, 27))
    assert not due(cairo, utc(2023, 4, 27, 21, 59))  # 23:59 EET on Thursday, which already ran
    assert due(cairo, utc(2023, 4, 27, 22, 0))  # 01:00 EEST on Friday
    assert next_run(cairo, utc(2023, 4, 27, 21, 0)) == utc(2023, 4, 27, 22, 0)


def test_next_run_skips_weekends_and_holidays_and_is_now_when_due() -> None:
    friday_done = ny(last_run_date=date(2024, 3, 15))
    # after Friday's run: Monday 09:35 EDT = 13:35 UTC
    assert next_run(friday_done, utc(2024, 3, 15, 20, 0)) == utc(2024, 3, 18, 13, 35)
    # Thursday before Good Friday, after the run: Monday April 1st
    assert next_run(ny(last_run_date=date(2024, 3, 28)), utc(2024, 3, 28, 20, 0)) == utc(2024, 4, 1, 13, 35)
    # before the time of day: today
    assert next_run(ny(), utc(2024, 3, 13, 12, 0)) == utc(2024, 3, 13, 13, 35)
    assert next_run(ny(), utc(2024, 3, 13, 15, 0)) == utc(2024, 3, 13, 15, 0)
    assert next_run(ny(enabled=False), utc(2024, 3, 13, 12, 0)) is None
    assert next_run(ny(), utc(2024, 3, 13, 12, 0)).utcoffset() == timedelta(hours=-4)  # shown in New York time


# --- the table ---------------------------------------------------------------------------------------------


@pytest.fixture
def store(workspace) -> ScheduleStore:
    save_preset(Preset(name="hold", strategy="buy_and_hold", symbols=("SPY",)))
    return ScheduleStore()


def test_add_list_edit_remove_round_trip(store: ScheduleStore) -> None:
    a = store.add("hold", "paper", "9:35", "America/New_York")
    b = store.add("hold", "Alpaca", "15:50", "Europe/London", mode="auto", enabled=False)
    assert (a.at, a.mode, a.enabled, a.last_run_date) == ("09:35", "approve", True, None)
    assert (b.broker, b.mode, b.enabled) == ("alpaca", "auto", False)
    assert [s.id for s in ScheduleStore().list()] == [a.id, b.id]  # read back through a new connection
    edited = store.edit(a.id, at="10:00", tz="Asia/Tokyo", mode="auto")
    assert (edited.at, edited.tz, edited.mode, edited.preset) == ("10:00", "Asia/Tokyo", "auto", "hold")
    assert store.edit(b.id, enabled=True).enabled
    store.remove(a.id)
    assert [s.id for s in store.list()] == [b.id]
    with pytest.raises(ScheduleNotFound, match=f"no schedule with id {a.id}"):
        store.remove(a.id)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("at", "24:00", "time of day '24:00' is not HH:MM"),
        ("at", "9h30", "time of day '9h30' is not HH:MM"),
        ("tz", "Mars/Olympus", "time zone 'Mars/Olympus' is unknown"),
        ("mode", "yolo", "mode 'yolo' is not one of approve, auto"),
        ("preset", "missing", "preset 'missing' not found"),
    ],
)
def test_bad_input_is_refused_with_the_value(store: ScheduleStore, field: str, value: str, message: str) -> None:
    args = {"preset": "hold", "broker": "paper", "at": "09:35", "tz": "America/New_York", field: value}
    with pytest.raises(ConfigError, match=message):
        store.add(**args)
    assert store.list() == []


def test_a_day_is_queued_once_and_a_late_status_never_overwrites_a_later_day(store: ScheduleStore) -> None:
    s = store.add("hold", "paper", "09:35", "America/New_York")
    day = date(2024, 3, 13)
    assert store.mark_queued(s.id, day, "k1")
    assert not store.mark_queued(s.id, day, "k1")  # a second worker's poll of the same day
    store.mark(s.id, day, "executed", "2 order(s) sent")
    assert not store.mark_queued(s.id, day, "k1")  # does not reset the finished day to "queued"
    got = store.get(s.id)
    assert (got.last_run_date, got.last_status, got.last_job) == (day, "executed", "k1")
    assert not due(got, utc(2024, 3, 13, 18, 0)) and due(got, utc(2024, 3, 14, 18, 0))
    store.mark_queued(s.id, date(2024, 3, 14), "k2")
    store.mark(s.id, day, "failed", "late report of the 13th")
    got = store.get(s.id)
    assert (got.last_run_date, got.last_status) == (date(2024, 3, 14), "queued")
    assert job_key(s.id, day) == f"schedule-{s.id}-2024-03-13"

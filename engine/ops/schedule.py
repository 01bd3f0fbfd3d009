"""Scheduled daily operations: a preset's signals -> plan -> checks -> execute or ask for approval, once per
trading day at a time of day, stored in the workspace database (the `schedules` table).

A schedule names a preset, a broker, a time of day (HH:MM) and a time zone (an IANA name such as
America/New_York), and a mode: "approve" (default: the plan waits for a click on the Daily Ops page and an
alert says so) or "auto" (an approved plan on a paper account is executed at once). It runs on trading days
only (engine.ops.trading_days: Monday to Friday minus the NYSE holidays), judged by the date in its own time
zone.

`due(schedule, now)` is pure and never looks ahead: a schedule is due from its time of day on a trading day
until it has run that day. A run missed because no worker was up runs once when one comes back the same
trading day; past days are never run. The `ivybt worker` loop queues due schedules as jobs (the job id comes
from `job_key`, so two workers or a restarted one queue a day's run once) and brokers.scheduled_ops runs them.
"""

from __future__ import annotations

import re
import time as clock
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from os import PathLike
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ConfigError, EngineError
from engine.ops.trading_days import is_trading_day, next_trading_day
from engine.store.presets import load_preset
from engine.store.sqlite import Store, transaction

MODES: tuple[str, ...] = ("approve", "auto")
DAYS = "trading days (Mon-Fri, NYSE holidays off)"
COLUMNS: tuple[str, ...] = (
    "id",
    "preset",
    "broker",
    "at",
    "tz",
    "mode",
    "enabled",
    "last_run_date",
    "last_status",
    "last_message",
    "last_job",
)
_AT_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleNotFound(EngineError):
    """No schedule has this id."""


@dataclass(frozen=True)
class Schedule:
    """One scheduled daily run. at: "HH:MM" in `tz`; last_run_date: the trading date (in `tz`) of the latest run
    queued, with its status ("queued", "running", "executed", "partial", "approval needed", "blocked",
    "no orders", "no new signal", "skipped", "failed") and message."""

    id: int
    preset: str
    broker: str
    at: str
    tz: str
    mode: str = "approve"
    enabled: bool = True
    last_run_date: date | None = None
    last_status: str | None = None
    last_message: str | None = None
    last_job: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["last_run_date"] = self.last_run_date.isoformat() if self.last_run_date else None
        return out


def check_at(text: str) -> str:
    """A time of day as "HH:MM" (24 h; "9:30" -> "09:30"); ConfigError naming the text otherwise."""
    m = _AT_RE.match(str(text).strip())
    if not m:
        raise ConfigError(f"time of day {text!r} is not HH:MM (24-hour clock, e.g. 09:35)")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def check_tz(name: str) -> str:
    """An IANA time zone name (e.g. America/New_York); ConfigError naming it otherwise."""
    try:
        ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time zone {name!r} is unknown; use an IANA name such as America/New_York") from None
    return str(name).strip()


def check_mode(mode: str) -> str:
    """ "approve" or "auto"; ConfigError naming the value otherwise."""
    if mode not in MODES:
        raise ConfigError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    return mode


def check_preset(name: str) -> str:
    """The name of an existing, valid preset (ConfigError from engine.store.presets otherwise)."""
    return load_preset(name).name


def _aware(now: datetime) -> datetime:
    """`now` with a time zone (a naive `now` is UTC)."""
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _at(schedule: Schedule) -> time:
    hours, minutes = schedule.at.split(":")
    return time(int(hours), int(minutes))


def run_date(schedule: Schedule, now: datetime) -> date:
    """The calendar date in the schedule's time zone at `now`: the trading date a run at `now` belongs to."""
    return _aware(now).astimezone(ZoneInfo(schedule.tz)).date()


def due(schedule: Schedule, now: datetime) -> bool:
    """True when `schedule` should run at `now`: enabled, a trading day in its time zone, its time of day
    reached (local wall clock) and no run yet that day. Never true before the time of day; never for a past day."""
    if not schedule.enabled:
        return False
    local = _aware(now).astimezone(ZoneInfo(schedule.tz))
    day = local.date()
    if not is_trading_day(day):
        return False
    if schedule.last_run_date is not None and schedule.last_run_date >= day:
        return False
    return local.time() >= _at(schedule)


def _first_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant of `day` whose wall clock in `tz` reads `at` or later (in a DST gap: the gap's end)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first  # the wall time exists (in a repeated hour: its first occurrence)
    t = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # before the gap; walk to where the clock passes `at`
    while t.astimezone(tz).replace(tzinfo=None) < naive:
        t += timedelta(minutes=1)
    return t.astimezone(tz)


def next_run(schedule: Schedule, now: datetime) -> datetime | None:
    """When the schedule runs next, in its time zone (`now` itself when it is due); None when disabled."""
    if not schedule.enabled:
        return None
    if due(schedule, now):
        return _aware(now).astimezone(ZoneInfo(schedule.tz))
    tz, at = ZoneInfo(schedule.tz), _at(schedule)
    day = run_date(schedule, now)
    ran_today = schedule.last_run_date is not None and schedule.last_run_date >= day
    if is_trading_day(day) and not ran_today and _aware(now) < _first_instant(day, at, tz):
        return _first_instant(day, at, tz)
    return _first_instant(next_trading_day(day), at, tz)


def job_key(schedule_id: int, day: date) -> str:
    """The queue key of a schedule's run on one trading day (one job per schedule and day)."""
    return f"schedule-{int(schedule_id)}-{day.isoformat()}"


SCHEDULE_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        preset TEXT NOT NULL,
        broker TEXT NOT NULL,
        at TEXT NOT NULL,
        tz TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('approve', 'auto')),
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        last_run_date TEXT,
        last_status TEXT,
        last_message TEXT,
        last_job TEXT
    )
    """,
)


class ScheduleStore(Store):
    """The schedules of one workspace database. Writes validate time, time zone, mode and preset (the broker
    name is the caller's to check: the engine does not know the brokers)."""

    COMPONENT: ClassVar[str] = "schedules"
    MIGRATIONS: ClassVar[Sequence[str]] = SCHEDULE_MIGRATIONS

    def __init__(self, path: str | PathLike[str] | None = None) -> None:
        super().__init__(path)

    def add(self, preset: str, broker: str, at: str, tz: str, mode: str = "approve", enabled: bool = True) -> Schedule:
        """Create a schedule; returns it with its id."""
        values = (check_preset(preset), _broker(broker), check_at(at), check_tz(tz), check_mode(mode))
        now = clock.time()
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "INSERT INTO schedules (preset, broker, at, tz, mode, enabled, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, int(bool(enabled)), now, now),
            )
            new_id = int(cur.lastrowid or 0)
        return self.get(new_id)

    def edit(
        self,
        schedule_id: int,
        *,
        preset: str | None = None,
        broker: str | None = None,
        at: str | None = None,
        tz: str | None = None,
        mode: str | None = None,
        enabled: bool | None = None,
    ) -> Schedule:
        """Change the given fields of a schedule (the others stay); returns it."""
        changes: dict[str, Any] = {}
        if preset is not None:
            changes["preset"] = check_preset(preset)
        if broker is not None:
            changes["broker"] = _broker(broker)
        if at is not None:
            changes["at"] = check_at(at)
        if tz is not None:
            changes["tz"] = check_tz(tz)
        if mode is not None:
            changes["mode"] = check_mode(mode)
        if enabled is not None:
            changes["enabled"] = int(bool(enabled))
        self.get(schedule_id)
        if changes:
            sets = ", ".join(f"{k} = ?" for k in changes)
            with self._conn() as conn, transaction(conn):
                conn.execute(
                    f"UPDATE schedules SET {sets}, updated_at = ? WHERE id = ?",
                    (*changes.values(), clock.time(), int(schedule_id)),
                )
        return self.get(schedule_id)

    def remove(self, schedule_id: int) -> None:
        """Delete a schedule (a run already queued for it is skipped)."""
        with self._conn() as conn, transaction(conn):
            if conn.execute("DELETE FROM schedules WHERE id = ?", (int(schedule_id),)).rowcount == 0:
                raise ScheduleNotFound(f"no schedule with id {schedule_id}")

    def get(self, schedule_id: int) -> Schedule:
        """One schedule; ScheduleNotFound for an unknown id."""
        found = self.find(schedule_id)
        if found is None:
            raise ScheduleNotFound(f"no schedule with id {schedule_id}")
        return found

    def find(self, schedule_id: int) -> Schedule | None:
        """One schedule, or None when there is none with this id."""
        with self._conn() as conn:
            row = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM schedules WHERE id = ?", (int(schedule_id),))
            found = row.fetchone()
        return _schedule(found) if found else None

    def list(self) -> list[Schedule]:
        """Every schedule, by id."""
        with self._conn() as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM schedules ORDER BY id").fetchall()
        return [_schedule(r) for r in rows]

    def mark_queued(self, schedule_id: int, day: date, job_id: str) -> bool:
        """Record that the run of `day` is queued as `job_id`, unless a run of `day` (or later) is recorded
        already; True if this call recorded it."""
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "UPDATE schedules SET last_run_date = ?, last_status = 'queued', last_message = NULL, last_job = ? "
                "WHERE id = ? AND (last_run_date IS NULL OR last_run_date < ?)",
                (day.isoformat(), job_id, int(schedule_id), day.isoformat()),
            )
            return cur.rowcount > 0

    def mark(self, schedule_id: int, day: date, status: str, message: str = "") -> None:
        """Record the status of the run of `day` (ignored when a later day's run is recorded already)."""
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "UPDATE schedules SET last_run_date = ?, last_status = ?, last_message = ? "
                "WHERE id = ? AND (last_run_date IS NULL OR last_run_date <= ?)",
                (day.isoformat(), status, message or None, int(schedule_id), day.isoformat()),
            )


def _broker(name: str) -> str:
    text = str(name).strip().lower()
    if not text:
        raise ConfigError("broker name is empty")
    return text


def _schedule(row: Any) -> Schedule:
    values = dict(zip(COLUMNS, tuple(row)))
    values["enabled"] = bool(values["enabled"])
    values["last_run_date"] = date.fromisoformat(values["last_run_date"]) if values["last_run_date"] else None
    return Schedule(**values)

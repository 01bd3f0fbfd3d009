"""Scheduled screens: a screen (engine.research.screen.ScreenSpec) run every N minutes or once a day at a time
of day, in the `screen_schedules` table of the workspace database, with the symbols of its latest result.

`due(schedule, now)` is pure and never looks ahead: it returns the key of the run due at `now` (one per
N-minute slot since the epoch, or one per calendar day in the schedule's time zone from its time of day on),
or None when that run was queued already. The key is the queue's `submit_once` key, so two workers queue a
slot once. The `screen` job kind (engine.batch.screen_job) queues and runs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from os import PathLike
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import ConfigError, EngineError
from engine.research.screen import ScreenSpec, check_spec
from engine.store.sqlite import Store, transaction

_AT_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS screen_schedules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        spec TEXT NOT NULL,
        every_minutes INTEGER,
        at TEXT,
        tz TEXT NOT NULL DEFAULT 'UTC',
        enabled INTEGER NOT NULL DEFAULT 1,
        last_key TEXT,
        last_symbols TEXT,
        last_status TEXT,
        last_message TEXT
    )
    """,
)


class ScreenScheduleNotFound(EngineError):
    """No scheduled screen has this id."""


@dataclass(frozen=True)
class ScreenSchedule:
    """One scheduled screen: every `every_minutes` minutes, or daily at `at` (HH:MM in `tz`). last_symbols: the
    symbols of the latest result (None before the first run), the baseline the next run is compared with."""

    id: int
    name: str
    spec: ScreenSpec
    every_minutes: int | None = None
    at: str | None = None
    tz: str = "UTC"
    enabled: bool = True
    last_key: str | None = None
    last_symbols: tuple[str, ...] | None = None
    last_status: str | None = None
    last_message: str | None = None

    def when(self) -> str:
        return f"every {self.every_minutes} min" if self.every_minutes else f"daily at {self.at} {self.tz}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["spec"] = self.spec.to_dict()
        out["last_symbols"] = list(self.last_symbols) if self.last_symbols is not None else None
        return out


def check_timing(every_minutes: int | None, at: str | None, tz: str) -> tuple[int | None, str | None, str]:
    """Exactly one of every_minutes (>= 1) and at ("HH:MM"), and an IANA time zone; ConfigError otherwise."""
    if (every_minutes is None) == (at is None or not str(at).strip()):
        raise ConfigError("a scheduled screen needs exactly one of: every N minutes, or a time of day HH:MM")
    try:
        ZoneInfo(str(tz).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time zone {tz!r} is unknown; use an IANA name such as America/New_York") from None
    if every_minutes is not None:
        if isinstance(every_minutes, bool) or not isinstance(every_minutes, int) or every_minutes < 1:
            raise ConfigError(f"every {every_minutes!r} minutes: must be a whole number >= 1")
        return every_minutes, None, str(tz).strip()
    m = _AT_RE.match(str(at).strip())
    if not m:
        raise ConfigError(f"time of day {at!r} is not HH:MM (24-hour clock, e.g. 16:30)")
    return None, f"{int(m.group(1)):02d}:{m.group(2)}", str(tz).strip()


def due(schedule: ScreenSchedule, now: datetime) -> str | None:
    """The key of the run due at `now` (naive = UTC), or None (disabled, before the time of day, or queued)."""
    if not schedule.enabled:
        return None
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if schedule.every_minutes:
        slot = int(now.timestamp() // (schedule.every_minutes * 60))
        key = f"screen-{schedule.id}-m{schedule.every_minutes}-{slot}"
    else:
        local = now.astimezone(ZoneInfo(schedule.tz))
        hours, minutes = str(schedule.at).split(":")
        if (local.hour, local.minute) < (int(hours), int(minutes)):
            return None
        key = f"screen-{schedule.id}-{local.date().isoformat()}"
    return None if key == schedule.last_key else key


class ScreenScheduleStore(Store):
    """The scheduled screens of one workspace database (or of the SQLite file `path`)."""

    COMPONENT: ClassVar[str] = "screen_schedules"
    MIGRATIONS: ClassVar[Sequence[str]] = MIGRATIONS

    def __init__(self, path: str | PathLike[str] | None = None) -> None:
        super().__init__(path)

    def add(
        self, name: str, spec: ScreenSpec, *, every_minutes: int | None = None, at: str | None = None, tz: str = "UTC"
    ) -> ScreenSchedule:
        """Validate and store a scheduled screen; returns it."""
        every_minutes, at, tz = check_timing(every_minutes, at, tz)
        check_spec(spec)
        if not str(name).strip():
            raise ConfigError("a scheduled screen needs a name")
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "INSERT INTO screen_schedules (name, spec, every_minutes, at, tz) VALUES (?, ?, ?, ?, ?)",
                (str(name).strip(), json.dumps(spec.to_dict()), every_minutes, at, tz),
            )
        return self.get(int(cur.lastrowid or 0))

    def find(self, schedule_id: int) -> ScreenSchedule | None:
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM screen_schedules WHERE id = ?", (int(schedule_id),)).fetchone()
        return _row(row) if row is not None else None

    def get(self, schedule_id: int) -> ScreenSchedule:
        found = self.find(schedule_id)
        if found is None:
            raise ScreenScheduleNotFound(f"no scheduled screen #{schedule_id}")
        return found

    def list(self) -> list[ScreenSchedule]:
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM screen_schedules ORDER BY id").fetchall()
        return [_row(r) for r in rows]

    def remove(self, schedule_id: int) -> None:
        self.get(schedule_id)
        with self._conn() as conn, transaction(conn):
            conn.execute("DELETE FROM screen_schedules WHERE id = ?", (int(schedule_id),))

    def set_enabled(self, schedule_id: int, enabled: bool) -> None:
        self.get(schedule_id)
        with self._conn() as conn, transaction(conn):
            conn.execute("UPDATE screen_schedules SET enabled = ? WHERE id = ?", (int(enabled), int(schedule_id)))

    def mark(self, schedule_id: int, key: str | None, status: str, message: str) -> None:
        """Record a run's status (and, when `key` is given, that its slot was queued)."""
        sets, args = "last_status = ?, last_message = ?", [status, message]
        if key is not None:
            sets, args = sets + ", last_key = ?", [*args, key]
        with self._conn() as conn, transaction(conn):
            conn.execute(f"UPDATE screen_schedules SET {sets} WHERE id = ?", (*args, int(schedule_id)))

    def set_symbols(self, schedule_id: int, symbols: Sequence[str]) -> None:
        """Keep `symbols` as the latest result, the baseline of the next run."""
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "UPDATE screen_schedules SET last_symbols = ? WHERE id = ?",
                (json.dumps(list(symbols)), int(schedule_id)),
            )


def _row(row: Any) -> ScreenSchedule:
    last = row["last_symbols"]
    return ScreenSchedule(
        id=int(row["id"]),
        name=row["name"],
        spec=ScreenSpec.from_dict(json.loads(row["spec"])),
        every_minutes=row["every_minutes"],
        at=row["at"],
        tz=row["tz"],
        enabled=bool(row["enabled"]),
        last_key=row["last_key"],
        last_symbols=tuple(json.loads(last)) if last is not None else None,
        last_status=row["last_status"],
        last_message=row["last_message"],
    )

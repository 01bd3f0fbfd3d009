"""The in-app notification list: the `notifications` table of the workspace database.

Every alert lands here whatever channels are configured; the app's bell and `ivybt notifications` read it.
Times are Unix seconds (UTC).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass
from os import PathLike
from typing import Any

from engine.alerts.events import Alert, check_level
from engine.store.sqlite import connect, ensure_schema, transaction

COMPONENT = "notifications"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        level TEXT NOT NULL,
        event TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        read INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS notifications_unread ON notifications (read, id)
    """,
)


@dataclass(frozen=True)
class Notification:
    """One row of the list; time in Unix seconds."""

    id: int
    time: float
    level: str
    event: str
    title: str
    text: str
    read: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Inbox:
    """The notification list of the workspace database (or of the SQLite file `path`)."""

    def __init__(self, path: str | PathLike[str] | None = None) -> None:
        self.path = path

    def _conn(self) -> sqlite3.Connection:
        conn = connect(self.path)
        ensure_schema(conn, COMPONENT, MIGRATIONS)
        return conn

    def add(self, alert: Alert, at: float | None = None) -> int:
        """Store `alert` unread; returns its id."""
        conn = self._conn()
        try:
            with transaction(conn):
                cur = conn.execute(
                    "INSERT INTO notifications (time, level, event, title, text) VALUES (?, ?, ?, ?, ?)",
                    (time.time() if at is None else at, check_level(alert.level), alert.event, alert.title, alert.text),
                )
            return int(cur.lastrowid or 0)
        finally:
            conn.close()

    def list(self, unread: bool = False, limit: int = 100) -> list[Notification]:
        """The newest `limit` notifications first (only the unread ones with `unread`)."""
        where = "WHERE read = 0" if unread else ""
        conn = self._conn()
        try:
            rows = conn.execute(
                f"SELECT id, time, level, event, title, text, read FROM notifications {where} ORDER BY id DESC LIMIT ?",
                (int(limit),),
            ).fetchall()
        finally:
            conn.close()
        return [Notification(int(r[0]), float(r[1]), r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    def unread_count(self) -> int:
        conn = self._conn()
        try:
            return int(conn.execute("SELECT COUNT(*) FROM notifications WHERE read = 0").fetchone()[0])
        finally:
            conn.close()

    def mark_read(self, notification_id: int) -> None:
        """Mark one notification read; KeyError naming the id if there is none."""
        conn = self._conn()
        try:
            with transaction(conn):
                cur = conn.execute("UPDATE notifications SET read = 1 WHERE id = ?", (int(notification_id),))
        finally:
            conn.close()
        if cur.rowcount == 0:
            raise KeyError(f"no notification with id {notification_id}")

    def mark_all_read(self) -> int:
        """Mark every notification read; returns how many were unread."""
        conn = self._conn()
        try:
            with transaction(conn):
                cur = conn.execute("UPDATE notifications SET read = 1 WHERE read = 0")
        finally:
            conn.close()
        return int(cur.rowcount)

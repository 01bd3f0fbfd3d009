"""The one SQLite helper every store uses: WAL, foreign keys, a busy timeout, transactions and migrations.

The workspace database (`ivybt.db`) is shared by the app, the CLI, batch workers and the paper broker at the same
time: WAL lets readers go on while one writer writes, the busy timeout makes a second writer wait instead of
failing, and `ensure_schema` applies each component's numbered migrations once, whichever process comes first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from os import PathLike
from pathlib import Path
from typing import ClassVar

from engine.errors import EngineError
from engine.store.workspace import db_path

BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's write transaction before sqlite3 raises 'database is locked'."""


def connect(path: str | PathLike[str] | None = None) -> sqlite3.Connection:
    """Open the workspace database (or `path`) in autocommit mode with WAL, foreign keys and a busy timeout.

    Use `transaction(conn)` around writes.
    """
    target = Path(path) if path is not None else db_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT`; any exception rolls everything back and propagates."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_schema(conn: sqlite3.Connection, component: str, migrations: Sequence[str]) -> int:
    """Apply the migrations of `component` not applied yet (migration i brings it to version i + 1).

    Each migration runs in its own transaction together with its version bump. Returns the version now.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
    current = int(row[0]) if row else 0
    if current > len(migrations):
        raise EngineError(
            f"database schema of {component!r} is version {current}, newer than this IvyBT "
            f"({len(migrations)}); upgrade IvyBT"
        )
    for version in range(current + 1, len(migrations) + 1):
        with transaction(conn):
            row = conn.execute("SELECT version FROM schema_version WHERE component = ?", (component,)).fetchone()
            if row and int(row[0]) >= version:  # another process migrated meanwhile
                continue
            for statement in _statements(migrations[version - 1]):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, version),
            )
    return len(migrations)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class Store:
    """Base of a component's tables in one SQLite file (default: the workspace database, read at every call so
    IVYBT_HOME may change), migrated to `MIGRATIONS` on construction. Safe to share between processes."""

    COMPONENT: ClassVar[str]
    MIGRATIONS: ClassVar[Sequence[str]]

    def __init__(self, path: str | PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        with self._conn() as conn:
            ensure_schema(conn, self.COMPONENT, self.MIGRATIONS)

    def _conn(self) -> closing[sqlite3.Connection]:
        """A new connection (rows by column name) that a `with` block closes."""
        conn = connect(self.path)
        conn.row_factory = sqlite3.Row
        return closing(conn)

"""The one SQLite helper every store uses: WAL, foreign keys, a busy timeout, transactions, migrations, and SQLite's
faults as one clear line.

The workspace database (`ivybt.db`) is shared by the app, the CLI, batch workers and the paper broker at the same
time: WAL lets readers go on while one writer writes, the busy timeout (`IVYBT_DB_TIMEOUT`, seconds) makes a second
writer wait instead of failing, and `ensure_schema` applies each component's numbered migrations once, whichever
process comes first. A file is checked once per process when first opened (`PRAGMA quick_check` on a read-only
connection, so a damaged file is never written to), and every connection turns SQLite's faults into a
`WorkspaceError` naming the file and what to do: locked too long (`DatabaseBusy`), damaged (`DatabaseCorrupt`),
no room to write (`DatabaseFull`: SQLite rolls the failed transaction back, so what was committed stays).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Self

from engine.errors import DatabaseBusy, DatabaseCorrupt, DatabaseFull, EngineError, WorkspaceError
from engine.settings import env_number
from engine.store.workspace import db_path

TIMEOUT_ENV = "IVYBT_DB_TIMEOUT"
DEFAULT_BUSY_TIMEOUT_S = 10.0
"""How long a connection waits for another process's lock before giving up with `DatabaseBusy` (IVYBT_DB_TIMEOUT
overrides it)."""
MAX_BUSY_TIMEOUT_S = 86_400.0

_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_CORRUPT = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_FULL = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}
_ACCESS = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}
_checked: set[Path] = set()
"""Files that passed the quick check in this process (checked once per process per file)."""


def busy_timeout() -> float:
    """Seconds to wait for a lock: IVYBT_DB_TIMEOUT, else DEFAULT_BUSY_TIMEOUT_S; a bad value is a ConfigError."""
    return env_number(
        TIMEOUT_ENV,
        DEFAULT_BUSY_TIMEOUT_S,
        lambda v: 0 <= v <= MAX_BUSY_TIMEOUT_S,
        f"must be a number of seconds in [0, {MAX_BUSY_TIMEOUT_S:g}]",
    )


def database_error(error: sqlite3.Error, path: str | PathLike[str]) -> WorkspaceError | None:
    """The one-line WorkspaceError for an SQLite fault on `path` (busy, damaged, full, no access); None for anything
    else (a constraint, a bad statement: those are the caller's business or a bug)."""
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code in _BUSY:
        return DatabaseBusy(
            f"{path}: locked by another process (waited {busy_timeout():g} s); retry, or raise {TIMEOUT_ENV} (seconds)"
        )
    if code in _CORRUPT:
        return DatabaseCorrupt(corrupt_message(path, str(error)))
    if code in _FULL:
        return DatabaseFull(
            f"{path}: could not write ({error}: disk full or file too large); the write was rolled back and "
            "everything saved before it is intact: free some space and retry"
        )
    if code in _ACCESS:
        return WorkspaceError(f"{path}: cannot open or write the database ({error}); check the file's permissions")
    return None


def corrupt_message(path: str | PathLike[str], problem: str) -> str:
    return (
        f"{path}: the database is damaged ({problem}); the file was left as it is: run `ivybt workspace check`, "
        "then restore from a backup with `ivybt workspace restore FILE`"
    )


def _raise(error: sqlite3.Error, path: Any) -> NoReturn:
    mapped = database_error(error, path)
    if mapped is None:
        raise error
    raise mapped from error


class _Cursor(sqlite3.Cursor):
    """A cursor whose SQLite faults raise WorkspaceError (see `database_error`)."""

    def _path(self) -> Any:
        return getattr(self.connection, "path", "database")

    def execute(self, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.Error as e:
            _raise(e, self._path())

    def executemany(self, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().executemany(*args, **kwargs)
        except sqlite3.Error as e:
            _raise(e, self._path())

    def executescript(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        try:
            return super().executescript(*args, **kwargs)
        except sqlite3.Error as e:
            _raise(e, self._path())

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as e:
            _raise(e, self._path())

    def fetchmany(self, *args: Any, **kwargs: Any) -> list[Any]:
        try:
            return super().fetchmany(*args, **kwargs)
        except sqlite3.Error as e:
            _raise(e, self._path())

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as e:
            _raise(e, self._path())

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as e:
            _raise(e, self._path())


class _Connection(sqlite3.Connection):
    """A connection that knows its file and whose SQLite faults raise WorkspaceError naming it."""

    path: Path

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs.get("factory") is None:
            kwargs["factory"] = _Cursor
        return super().cursor(*args, **kwargs)

    def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        cur: sqlite3.Cursor = self.cursor()
        return cur.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        cur: sqlite3.Cursor = self.cursor()
        return cur.executemany(*args, **kwargs)

    def executescript(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        cur: sqlite3.Cursor = self.cursor()
        return cur.executescript(*args, **kwargs)

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as e:
            _raise(e, self.path)

    def rollback(self) -> None:
        try:
            super().rollback()
        except sqlite3.Error as e:
            _raise(e, self.path)


def open_connection(target: Path, read_only: bool = False) -> sqlite3.Connection:
    """A bare connection to target: faults as WorkspaceError, waits up to `busy_timeout()` for locks, no check and
    no pragmas (`connect` is the one stores use). read_only: SQLite never writes the file through it."""
    where: str | Path = f"{target.resolve().as_uri()}?mode=ro" if read_only else target
    try:
        conn = sqlite3.connect(where, timeout=busy_timeout(), isolation_level=None, uri=read_only, factory=_Connection)
    except sqlite3.Error as e:
        _raise(e, target)
    conn.path = target
    return conn


def quick_check(path: str | PathLike[str], full: bool = False) -> list[str]:
    """SQLite's problems with the file (empty: none): `PRAGMA quick_check`, or `integrity_check` when full.

    Runs on a read-only connection, so checking a damaged file never writes to it. A file SQLite cannot read as
    a database gives one problem; a lock held too long raises DatabaseBusy.
    """
    target = Path(path)
    pragma = "integrity_check" if full else "quick_check"
    try:
        with closing(open_connection(target, read_only=True)) as conn:
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}(20)").fetchall()]
    except DatabaseCorrupt as e:
        return [str(e.__cause__ or e)]
    if rows == ["ok"]:
        return []
    lines = (line.strip() for row in rows for line in row.splitlines())
    return [line for line in lines if line and not line.startswith("***")]  # drop "*** in database main ***"


def check_once(path: Path) -> None:
    """Raise DatabaseCorrupt if the existing, non-empty file fails the quick check; each file once per process."""
    key = path.resolve()
    if key in _checked or not path.is_file() or path.stat().st_size == 0:
        return
    problems = quick_check(path)
    if problems:
        raise DatabaseCorrupt(corrupt_message(path, problems[0]))
    _checked.add(key)


def forget_checked(path: str | PathLike[str]) -> None:
    """Check `path` again at its next open (after a restore replaced it)."""
    _checked.discard(Path(path).resolve())


def connect(path: str | PathLike[str] | None = None, *, durable: bool = True) -> sqlite3.Connection:
    """Open the workspace database (or `path`) in autocommit mode with WAL, foreign keys and a busy timeout.

    The file is quick-checked at its first open in this process. Use `transaction(conn)` around writes.
    durable=False: `PRAGMA synchronous=NORMAL`, for what can be computed again (batch jobs and the runs they
    save): a commit is not flushed to the disk before it returns, so a power cut or an OS crash may roll back the
    last commits (whole, never half of one: the file stays consistent), while a killed process loses nothing. A
    commit costs ~0.25 ms instead of ~1 ms with the lock held, which two batch workers writing at once felt.
    """
    target = Path(path) if path is not None else db_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    check_once(target)
    conn = open_connection(target)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if not durable:
            conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def kept_open(path: str | PathLike[str]) -> Iterator[None]:
    """Hold one idle connection to `path` while the block runs many short operations, each on a connection of
    its own (a batch's driver and its workers): when the last connection to a WAL database closes, SQLite
    checkpoints it and deletes the WAL, and the next open builds them again (~1 ms per operation, measured on
    a batch's queue updates). An idle connection holds no snapshot or lock that could stop a writer."""
    with closing(connect(path)):
        yield


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT`; any exception (a failed COMMIT too) rolls everything back and propagates.

    SQLite may already have rolled back on its own (a full disk): then there is nothing left to roll back.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error, WorkspaceError):
                conn.execute("ROLLBACK")
        raise


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

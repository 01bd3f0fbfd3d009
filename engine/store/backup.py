"""Back up, restore and check the workspace database with SQLite's online backup API (issue 15).

A backup is a consistent copy taken while the app, the CLI or workers keep using the database (SQLite copies the
pages under its own locks); it is a self-contained file (rollback journal, not WAL) and never overwrites one. A
restore first checks the backup, then keeps the current database aside as `<db>.before-restore-<UTC time>`: a
healthy one copied with the backup API (the restore then writes into it in place, so open connections see the
restored data), a damaged one moved aside byte for byte (with its -wal) before a fresh file is written.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path

from engine.errors import DatabaseCorrupt, WorkspaceError
from engine.store.sqlite import connect, database_error, forget_checked, open_connection, quick_check
from engine.store.workspace import backups_dir, db_path

ASIDE_MARK = ".before-restore-"


@dataclass(frozen=True)
class CheckReport:
    """`check`'s answer: the file, SQLite's problems (empty: healthy) and the rows per table of a healthy file."""

    path: Path
    problems: list[str]
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.problems


def _unused(folder: Path, prefix: str, suffix: str = "") -> Path:
    """`<folder>/<prefix><UTC time><suffix>`, with -2, -3, ... added when that name is taken (same second)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path, n = folder / f"{prefix}{stamp}{suffix}", 1
    while any(Path(f"{path}{extra}").exists() for extra in ("", "-wal", "-shm", ".part")):
        n += 1
        path = folder / f"{prefix}{stamp}-{n}{suffix}"
    return path


def _copy(source: sqlite3.Connection, dest: Path, blame: Path) -> None:
    """Copy the open database `source` into the new file dest (backup API), as one self-contained file."""
    with closing(open_connection(dest)) as out:
        try:
            source.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as e:
            raise (database_error(e, blame) or e) from e


def _fresh(path: Path) -> None:
    if path.exists():
        raise WorkspaceError(f"{path}: already exists; give a new file name (a backup never overwrites a file)")


def backup(dest: str | PathLike[str] | None = None, source: str | PathLike[str] | None = None) -> Path:
    """Copy the workspace database (or `source`) into dest (default: `<workspace>/backups/ivybt-<UTC time>.db`).

    Refuses a damaged source (DatabaseCorrupt) and an existing dest; the copy is checked. Returns dest.
    """
    src = Path(source) if source is not None else db_path()
    if not src.is_file():
        raise WorkspaceError(f"{src}: no database to back up yet (nothing has been saved in this workspace)")
    target = Path(dest).expanduser() if dest is not None else _unused(backups_dir(), "ivybt-", ".db")
    _fresh(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    try:
        with closing(connect(src)) as conn:  # quick-checked at open
            _copy(conn, part, part)
        problems = quick_check(part)
        if problems:
            raise DatabaseCorrupt(f"{target}: the copy of {src} failed its check ({problems[0]}); nothing was kept")
        _fresh(target)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def _verify_source(src: Path) -> None:
    if not src.is_file():
        raise WorkspaceError(f"{src}: no such backup file; nothing was restored")
    problems = quick_check(src)
    if problems:
        raise DatabaseCorrupt(f"{src}: not a usable backup ({problems[0]}); nothing was restored")
    with closing(open_connection(src, read_only=True)) as conn:
        known = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if known is None:
        raise WorkspaceError(f"{src}: not an IvyBT database (it has no schema_version table); nothing was restored")


def restore(source: str | PathLike[str], target: str | PathLike[str] | None = None) -> Path | None:
    """Replace the workspace database (or `target`) with the backup `source`; the previous file is kept aside.

    Returns where the previous database was kept (None when there was none). A damaged or foreign source is
    refused before anything changes.
    """
    src = Path(source).expanduser()
    dest = Path(target) if target is not None else db_path()
    _verify_source(src)
    aside: Path | None = None
    with closing(open_connection(src, read_only=True)) as backup_conn:
        if dest.is_file() and dest.stat().st_size > 0:
            aside = _unused(dest.parent, f"{dest.name}{ASIDE_MARK}")
            if not quick_check(dest):
                with closing(open_connection(dest)) as current:
                    _copy(current, aside, aside)
                with closing(connect(dest)) as live:
                    try:
                        backup_conn.backup(live)
                    except sqlite3.Error as e:
                        raise (database_error(e, dest) or e) from e
                forget_checked(dest)
                return aside
            for suffix in ("", "-wal", "-shm"):  # damaged: moved aside untouched, never written
                if Path(f"{dest}{suffix}").exists():
                    os.replace(f"{dest}{suffix}", f"{aside}{suffix}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy(backup_conn, dest, dest)
    forget_checked(dest)
    return aside


def check(path: str | PathLike[str] | None = None) -> CheckReport:
    """SQLite's full integrity check of the workspace database (or `path`) and its rows per table; read-only."""
    target = Path(path) if path is not None else db_path()
    if not target.is_file():
        raise WorkspaceError(f"{target}: no database yet (nothing has been saved in this workspace)")
    problems = quick_check(target, full=True)
    counts: dict[str, int] = {}
    if not problems:
        with closing(open_connection(target, read_only=True)) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for name in names:
                counts[name] = int(conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])
    return CheckReport(target, problems, counts)

"""The trade journal's tables in the workspace SQLite, and its screenshot files next to them.

`journal_entries`: one row per journaled trade (unique per target: a backtest run's trade, or a live fill), with
notes, setup and emotional state; `journal_tags` (one row per entry and tag, so lists filter by tag in SQL);
`journal_screenshots` (one row per stored picture: file, uploaded name, size, format); `journal_setups` (the
setups a person has used: the list grows as entries name new ones, and the page offers it). Saving an entry for a
trade that already has one edits it (notes, tags, setup and state replaced; screenshots added).

Screenshots are checked (engine.journal.screenshots) before anything is written, and written inside the entry's
transaction: if the database write fails, the new files are removed again. Tables are created through
`engine.store.sqlite.ensure_schema` (component "journal"); times are ISO-8601 UTC.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import EngineError
from engine.journal.model import (
    Entry,
    Screenshot,
    Target,
    clean_notes,
    clean_setup,
    clean_state,
    clean_tags,
)
from engine.journal.screenshots import check_screenshot, screenshot_file
from engine.store.sqlite import Store, transaction
from engine.store.workspace import db_path

COMPONENT = "journal"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE journal_entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        run_id TEXT NOT NULL DEFAULT '',
        trade_index INTEGER,
        broker TEXT NOT NULL DEFAULT '',
        account_id TEXT NOT NULL DEFAULT '',
        fill_id TEXT NOT NULL DEFAULT '',
        symbol TEXT NOT NULL DEFAULT '',
        trade_time TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        setup TEXT NOT NULL DEFAULT '',
        state INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX journal_entries_run ON journal_entries(run_id);
    CREATE INDEX journal_entries_broker ON journal_entries(broker);
    CREATE TABLE journal_tags (
        entry_id INTEGER NOT NULL REFERENCES journal_entries(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (entry_id, tag)
    );
    CREATE INDEX journal_tags_tag ON journal_tags(tag COLLATE NOCASE);
    CREATE TABLE journal_screenshots (
        entry_id INTEGER NOT NULL REFERENCES journal_entries(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        format TEXT NOT NULL,
        PRIMARY KEY (entry_id, number)
    );
    CREATE TABLE journal_setups (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        created_at TEXT NOT NULL
    );
    """,
)
FOLDER = "journal"


class EntryNotFound(EngineError):
    """No journal entry has this id."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class JournalStore(Store):
    """Journal entries in one SQLite file (default: the workspace database); screenshots in `folder`, the
    `journal/` folder next to that file. Safe to share between processes."""

    COMPONENT = COMPONENT
    MIGRATIONS = MIGRATIONS

    @property
    def folder(self) -> Path:
        """The screenshot folder: `journal/` beside the database file (the workspace's, by default)."""
        return (self.path or db_path()).parent / FOLDER

    def file_of(self, shot: Screenshot) -> Path:
        """The file of a stored screenshot."""
        return self.folder / shot.path

    # ------------------------------------------------------------------ writes
    def save(
        self,
        target: Target,
        *,
        symbol: str = "",
        trade_time: str = "",
        notes: str | None = "",
        tags: Iterable[str] | None = (),
        setup: str | None = "",
        state: int | str | None = None,
        screenshots: Sequence[tuple[str, bytes]] = (),
    ) -> Entry:
        """Create the entry of `target`, or edit it if it has one: notes, tags, setup and state are replaced,
        `screenshots` ((file name, bytes) pairs) are added. Every value and every picture is checked first:
        a ConfigError (ScreenshotRefused for a picture) names the problem and nothing is written."""
        text, tag_list, setup_name, level = clean_notes(notes), clean_tags(tags), clean_setup(setup), clean_state(state)
        shots = [(name, data, check_screenshot(name, data)) for name, data in screenshots]
        now = _now()
        written: list[Path] = []
        try:
            with self._conn() as conn, transaction(conn):
                conn.execute(
                    "INSERT INTO journal_entries (target_key, kind, run_id, trade_index, broker, account_id, fill_id,"
                    " symbol, trade_time, notes, setup, state, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(target_key) DO UPDATE SET"
                    " notes=excluded.notes, setup=excluded.setup, state=excluded.state,"
                    " updated_at=excluded.updated_at,"
                    " account_id=CASE WHEN excluded.account_id != '' THEN excluded.account_id ELSE account_id END,"
                    " symbol=CASE WHEN excluded.symbol != '' THEN excluded.symbol ELSE symbol END,"
                    " trade_time=CASE WHEN excluded.trade_time != '' THEN excluded.trade_time ELSE trade_time END",
                    (
                        target.key(),
                        target.kind,
                        target.run_id,
                        target.trade_index,
                        target.broker,
                        target.account_id,
                        target.fill_id,
                        str(symbol or ""),
                        str(trade_time or ""),
                        text,
                        setup_name,
                        level,
                        now,
                        now,
                    ),
                )
                entry_id = int(
                    conn.execute("SELECT id FROM journal_entries WHERE target_key = ?", (target.key(),)).fetchone()[0]
                )
                conn.execute("DELETE FROM journal_tags WHERE entry_id = ?", (entry_id,))
                conn.executemany(
                    "INSERT INTO journal_tags (entry_id, tag, position) VALUES (?,?,?)",
                    [(entry_id, t, i) for i, t in enumerate(tag_list)],
                )
                if setup_name:
                    conn.execute(
                        "INSERT OR IGNORE INTO journal_setups (name, created_at) VALUES (?,?)", (setup_name, now)
                    )
                self._write_shots(conn, entry_id, shots, written)
        except BaseException:
            for file in written:
                file.unlink(missing_ok=True)
                with suppress(OSError):  # the folder of an entry that was never saved: gone too
                    file.parent.rmdir()
            raise
        return self.get(entry_id)

    def _write_shots(
        self, conn: sqlite3.Connection, entry_id: int, shots: list[tuple[str, bytes, str]], written: list[Path]
    ) -> None:
        row = conn.execute("SELECT MAX(number) FROM journal_screenshots WHERE entry_id = ?", (entry_id,)).fetchone()
        number = int(row[0] or 0)
        for name, data, fmt in shots:
            number += 1
            file = screenshot_file(self.folder, entry_id, number, fmt)
            file.parent.mkdir(parents=True, exist_ok=True)
            written.append(file)
            file.write_bytes(data)
            conn.execute(
                "INSERT INTO journal_screenshots (entry_id, number, path, name, size, format) VALUES (?,?,?,?,?,?)",
                (entry_id, number, file.relative_to(self.folder).as_posix(), Path(name).name, len(data), fmt),
            )

    def add_setup(self, name: str) -> str:
        """Add a setup to the list (no entry needed); returns it as stored."""
        setup = clean_setup(name)
        if setup:
            with self._conn() as conn, transaction(conn):
                conn.execute("INSERT OR IGNORE INTO journal_setups (name, created_at) VALUES (?,?)", (setup, _now()))
        return setup

    def delete(self, entry_id: int) -> None:
        """Remove an entry, its tags, its screenshot rows and files."""
        self.get(entry_id)
        with self._conn() as conn, transaction(conn):
            conn.execute("DELETE FROM journal_entries WHERE id = ?", (int(entry_id),))
        shutil.rmtree(self.folder / str(int(entry_id)), ignore_errors=True)

    # ------------------------------------------------------------------ reads
    def get(self, entry_id: int) -> Entry:
        found = self._entries("WHERE e.id = ?", [int(entry_id)])
        if not found:
            raise EntryNotFound(f"no journal entry with id {entry_id!r} (see `ivybt journal list`)")
        return found[0]

    def find(self, target: Target) -> Entry | None:
        """The entry of this trade, or None."""
        found = self._entries("WHERE e.target_key = ?", [target.key()])
        return found[0] if found else None

    def entries(
        self,
        kind: str | None = None,
        run_id: str | None = None,
        broker: str | None = None,
        tag: str | None = None,
        setup: str | None = None,
    ) -> list[Entry]:
        """Entries (oldest first), optionally only of one kind, run, broker, tag or setup (tag and setup:
        case-insensitive)."""
        where, args = [], []
        for column, value in (("e.kind", kind), ("e.run_id", run_id), ("e.broker", broker)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if setup:
            where.append("e.setup = ? COLLATE NOCASE")
            args.append(setup.strip())
        if tag:
            where.append("e.id IN (SELECT entry_id FROM journal_tags WHERE tag = ? COLLATE NOCASE)")
            args.append(tag.strip())
        return self._entries(("WHERE " + " AND ".join(where)) if where else "", args)

    def setups(self) -> list[str]:
        """Every setup used or added, alphabetically."""
        with self._conn() as conn:
            rows = conn.execute("SELECT name FROM journal_setups ORDER BY name COLLATE NOCASE").fetchall()
        return [r[0] for r in rows]

    def tags(self) -> list[str]:
        """Every tag in use, alphabetically."""
        with self._conn() as conn:
            rows = conn.execute("SELECT DISTINCT tag FROM journal_tags ORDER BY tag COLLATE NOCASE").fetchall()
        return [r[0] for r in rows]

    def _entries(self, where: str, args: Sequence[object]) -> list[Entry]:
        with self._conn() as conn:
            rows = conn.execute(f"SELECT * FROM journal_entries e {where} ORDER BY e.id", list(args)).fetchall()
            ids = [int(r["id"]) for r in rows]
            marks = ",".join("?" * len(ids))
            tags: dict[int, list[str]] = {i: [] for i in ids}
            shots: dict[int, list[Screenshot]] = {i: [] for i in ids}
            if ids:
                for r in conn.execute(
                    f"SELECT entry_id, tag FROM journal_tags WHERE entry_id IN ({marks}) ORDER BY entry_id, position",
                    ids,
                ):
                    tags[int(r[0])].append(r[1])
                for r in conn.execute(
                    f"SELECT * FROM journal_screenshots WHERE entry_id IN ({marks}) ORDER BY entry_id, number", ids
                ):
                    shots[int(r["entry_id"])].append(Screenshot(r["path"], r["name"], int(r["size"]), r["format"]))
        return [_entry(r, tuple(tags[int(r["id"])]), tuple(shots[int(r["id"])])) for r in rows]


def _entry(r: sqlite3.Row, tags: tuple[str, ...], shots: tuple[Screenshot, ...]) -> Entry:
    kind = r["kind"]
    target = Target(
        kind="backtest" if kind == "backtest" else "live",
        run_id=r["run_id"],
        trade_index=None if r["trade_index"] is None else int(r["trade_index"]),
        broker=r["broker"],
        account_id=r["account_id"],
        fill_id=r["fill_id"],
    )
    return Entry(
        id=int(r["id"]),
        target=target,
        symbol=r["symbol"],
        trade_time=r["trade_time"],
        notes=r["notes"],
        tags=tags,
        setup=r["setup"],
        state=None if r["state"] is None else int(r["state"]),
        screenshots=shots,
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )

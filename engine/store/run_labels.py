"""What a person adds to a saved run: its name, tags and notes (`ivybt runs rename|tag|note`, the Runs page).

`RunLabels` is mixed into `engine.store.runs.RunStore`; it only needs the store's connection and id lookup,
so the run store itself stays about saving and loading results. Tags live in their own table (`run_tags`,
one row per run and tag, removed with the run) so the run list filters by tag in SQL; notes are a column of
`runs`. `LABELS_MIGRATION` is the run store's schema version 2: older databases gain the column and the
table when opened, with every run kept (no tags, empty notes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from engine.errors import ConfigError
from engine.store.sqlite import transaction

LABELS_MIGRATION = """
ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
CREATE TABLE run_tags (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
);
CREATE INDEX run_tags_tag ON run_tags(tag);
"""
"""Schema version 2 of the run store: notes on a run, and its tags."""

MAX_TAG = 64
MAX_NAME = 200


class _Store(Protocol):
    def _connect(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _resolve(self, conn: sqlite3.Connection, run_id: str) -> str: ...


def clean_tag(tag: str) -> str:
    """A tag as stored: stripped; ConfigError naming it when empty, too long or holding a comma (tags are shown
    comma-separated)."""
    text = str(tag).strip()
    if not text or "," in text or len(text) > MAX_TAG:
        raise ConfigError(f"tag {tag!r}: give 1..{MAX_TAG} characters without a comma")
    return text


def clean_name(name: str | None) -> str | None:
    """A run name as stored: stripped, None when empty; ConfigError when longer than MAX_NAME."""
    text = (name or "").strip()
    if len(text) > MAX_NAME:
        raise ConfigError(f"run name of {len(text)} characters: at most {MAX_NAME}")
    return text or None


def tags_by_run(conn: sqlite3.Connection, run_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
    """run id -> its tags, sorted (every run with a tag when run_ids is None)."""
    rows = conn.execute("SELECT run_id, tag FROM run_tags ORDER BY run_id, tag").fetchall()
    wanted = None if run_ids is None else set(run_ids)
    out: dict[str, list[str]] = {}
    for run_id, tag in rows:
        if wanted is None or run_id in wanted:
            out.setdefault(run_id, []).append(tag)
    return out


class RunLabels:
    """Rename, tag, untag and annotate saved runs; each change is one transaction. `run_id` may be a unique
    prefix of >= 4 characters (as everywhere in the run store); the methods return the full id."""

    def rename(self: _Store, run_id: str, name: str | None) -> str:
        """Set the run's name (None or blank clears it)."""
        value = clean_name(name)
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            with transaction(conn):
                conn.execute("UPDATE runs SET name = ? WHERE id = ?", (value, full))
        return full

    def tag(self: _Store, run_id: str, tags: Iterable[str], *, remove: bool = False) -> str:
        """Add the tags to the run (already present ones stay once), or remove them with remove=True."""
        cleaned = sorted({clean_tag(t) for t in tags})
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            with transaction(conn):
                sql = (
                    "DELETE FROM run_tags WHERE run_id = ? AND tag = ?"
                    if remove
                    else "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)"
                )
                conn.executemany(sql, [(full, t) for t in cleaned])
        return full

    def set_tags(self: _Store, run_id: str, tags: Iterable[str]) -> str:
        """Replace the run's tags with exactly these (the Runs page's editor)."""
        cleaned = sorted({clean_tag(t) for t in tags})
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            with transaction(conn):
                conn.execute("DELETE FROM run_tags WHERE run_id = ?", (full,))
                conn.executemany("INSERT INTO run_tags (run_id, tag) VALUES (?, ?)", [(full, t) for t in cleaned])
        return full

    def set_notes(self: _Store, run_id: str, notes: str) -> str:
        """Replace the run's notes (free text; an empty string clears them)."""
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            with transaction(conn):
                conn.execute("UPDATE runs SET notes = ? WHERE id = ?", (str(notes or ""), full))
        return full

    def all_tags(self: _Store) -> list[str]:
        """Every tag in use, sorted."""
        with self._connect() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT tag FROM run_tags ORDER BY tag").fetchall()]

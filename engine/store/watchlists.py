"""Saved watchlists: a name and its symbols, in the `watchlists` table of the workspace database.

A watchlist can stand for a universe wherever symbols are listed: a request, a preset or a batch job may say
`watchlist: NAME` (alone, or as one item of a symbol list) and `expand_symbols` replaces it with the
watchlist's symbols at the time the request is built (a saved run keeps the symbols it ran on). The Screener
page and `ivybt watchlist` save them; times are Unix seconds (UTC).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from os import PathLike
from typing import Any, ClassVar

from engine.errors import ConfigError
from engine.store.sqlite import Store, transaction

PREFIX = "watchlist:"
"""How a symbol list names a watchlist: `watchlist: NAME`."""
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._=^-]{0,19}$")

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS watchlists (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        symbols TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class Watchlist:
    """One saved watchlist: symbols in the order saved (upper case, no duplicates)."""

    name: str
    symbols: tuple[str, ...]
    created: float
    updated: float

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["symbols"] = list(self.symbols)
        return out


def check_name(name: str) -> str:
    """A watchlist name (letters, digits, space, `_ . -`, up to 64); ConfigError naming it otherwise."""
    text = str(name).strip()
    if not _NAME_RE.match(text):
        raise ConfigError(f"watchlist name {name!r} must be 1-64 letters, digits, spaces or _ . - (starting alnum)")
    return text


def clean_symbols(symbols: Iterable[str] | str) -> tuple[str, ...]:
    """Upper-case symbols in order, blanks and duplicates dropped ("SPY, qqq" works); ConfigError naming a bad
    one or an empty list."""
    items = symbols.split(",") if isinstance(symbols, str) else list(symbols)
    out: list[str] = []
    for item in items:
        sym = str(item).strip().upper()
        if not sym:
            continue
        if not _SYMBOL_RE.match(sym):
            raise ConfigError(f"symbol {item!r} is not a ticker (letters, digits and . _ = ^ -)")
        if sym not in out:
            out.append(sym)
    if not out:
        raise ConfigError("a watchlist needs at least one symbol")
    return tuple(out)


class WatchlistStore(Store):
    """The watchlists of one workspace database (or of the SQLite file `path`). Names are case-insensitive
    (`ivybt backtest --symbols "watchlist: tech"` upper-cases its symbols), kept as first saved."""

    COMPONENT: ClassVar[str] = "watchlists"
    MIGRATIONS: ClassVar[Sequence[str]] = MIGRATIONS

    def __init__(self, path: str | PathLike[str] | None = None) -> None:
        super().__init__(path)

    def save(self, name: str, symbols: Iterable[str] | str) -> Watchlist:
        """Create or replace `name` with `symbols` (created kept on a replace); returns it."""
        name, syms, now = check_name(name), clean_symbols(symbols), time.time()
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "INSERT INTO watchlists (name, symbols, created, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET symbols = excluded.symbols, updated = excluded.updated",
                (name, json.dumps(list(syms)), now, now),
            )
        return self.get(name)

    def find(self, name: str) -> Watchlist | None:
        """The watchlist `name`, or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM watchlists WHERE name = ?", (str(name).strip(),)).fetchone()
        return _row(row) if row is not None else None

    def get(self, name: str) -> Watchlist:
        """The watchlist `name`; ConfigError listing the saved ones when there is none."""
        found = self.find(name)
        if found is None:
            names = self.names()
            raise ConfigError(f"watchlist {name!r} not found; saved: {', '.join(names) if names else 'none'}")
        return found

    def names(self) -> list[str]:
        """The saved names, sorted."""
        return [w.name for w in self.list()]

    def list(self) -> list[Watchlist]:
        """Every watchlist, by name."""
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM watchlists ORDER BY name").fetchall()
        return [_row(r) for r in rows]

    def delete(self, name: str) -> None:
        """Delete `name`; ConfigError when there is none."""
        self.get(name)
        with self._conn() as conn, transaction(conn):
            conn.execute("DELETE FROM watchlists WHERE name = ?", (str(name).strip(),))


def _row(row: Any) -> Watchlist:
    return Watchlist(row["name"], tuple(json.loads(row["symbols"])), float(row["created"]), float(row["updated"]))


def watchlist_name(item: Any) -> str | None:
    """NAME when `item` is the text `watchlist: NAME` (any case, spaces around), else None."""
    if not isinstance(item, str):
        return None
    text = item.strip()
    if text[: len(PREFIX)].lower() != PREFIX:
        return None
    return text[len(PREFIX) :].strip()


def expand_symbols(value: Any, path: str | PathLike[str] | None = None) -> Any:
    """`value` with every `watchlist: NAME` (the whole text, or an item of a list) replaced by that watchlist's
    symbols; anything else passes through untouched for the caller's own validation. ConfigError when a named
    watchlist does not exist. The one place a symbol list resolves watchlists (requests, presets, batches)."""
    if isinstance(value, str):
        name = watchlist_name(value)
        return list(WatchlistStore(path).get(name).symbols) if name is not None else value
    if isinstance(value, (list, tuple)) and any(watchlist_name(v) is not None for v in value):
        out: list[Any] = []
        for item in value:
            name = watchlist_name(item)
            out.extend(WatchlistStore(path).get(name).symbols if name is not None else [item])
        return type(value)(out) if isinstance(value, tuple) else out
    return value

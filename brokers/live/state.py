"""`LiveStore`: what a live loop persists after every bar, in the workspace SQLite (table `live_sessions`).

One row per session key ("<preset>@<broker>", with ":replay" for a rehearsal): the last processed bar's time, the
position snapshot, the open order ids, the orders followed (status and filled quantity already delivered to the
strategy, so a fill is delivered once), `ctx.state`, the last decision (one line for the Desk) and the process
id and status ("running", "stopped", "failed"). A restart reads it back (brokers.live.loop), reconciles it with the
broker and skips the bars already processed. Written in one `BEGIN IMMEDIATE` transaction per bar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.store.jsonable import dumps
from engine.store.sqlite import Store, transaction

COMPONENT = "live"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE live_sessions (
        session TEXT PRIMARY KEY,
        preset TEXT NOT NULL,
        broker TEXT NOT NULL,
        replay INTEGER NOT NULL,
        account_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        pid INTEGER,
        last_bar TEXT,
        bars_processed INTEGER NOT NULL,
        last_decision TEXT NOT NULL,
        positions_json TEXT NOT NULL,
        open_orders_json TEXT NOT NULL,
        followed_json TEXT NOT NULL,
        strategy_state_json TEXT NOT NULL
    );
    """,
)


def session_key(preset: str, broker: str, replay: bool = False) -> str:
    """The key of a loop's state (and lease): one per preset and broker; a replay keeps its own state."""
    return f"{preset}@{broker}" + (":replay" if replay else "")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class LiveState:
    """A session's persisted state. followed: client_order_id -> [status, filled quantity delivered]."""

    session: str
    preset: str
    broker: str
    replay: bool = False
    account_id: str = ""
    started_at: str = field(default_factory=_now)
    updated_at: str = ""
    status: str = "running"
    pid: int | None = None
    last_bar: str | None = None
    bars_processed: int = 0
    last_decision: str = ""
    positions: dict[str, float] = field(default_factory=dict)
    open_orders: list[str] = field(default_factory=list)
    followed: dict[str, list[Any]] = field(default_factory=dict)
    strategy_state: dict[str, Any] = field(default_factory=dict)


class LiveStore(Store):
    """The live loops' state in one SQLite file (default: the workspace database). Safe across processes."""

    COMPONENT = COMPONENT
    MIGRATIONS = MIGRATIONS

    def load(self, session: str) -> LiveState | None:
        """The stored state of `session`, or None when it never ran."""
        with self._conn() as conn:
            r = conn.execute("SELECT * FROM live_sessions WHERE session = ?", (session,)).fetchone()
        return None if r is None else _state(r)

    def save(self, state: LiveState) -> None:
        """Write `state` (insert or replace the session's row) in one transaction."""
        state.updated_at = _now()
        row = (
            state.session,
            state.preset,
            state.broker,
            int(state.replay),
            state.account_id,
            state.started_at,
            state.updated_at,
            state.status,
            state.pid,
            state.last_bar,
            state.bars_processed,
            state.last_decision,
            dumps(state.positions, sort_keys=True),
            dumps(state.open_orders),
            dumps(state.followed, sort_keys=True),
            dumps(state.strategy_state, sort_keys=True),
        )
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "INSERT OR REPLACE INTO live_sessions (session, preset, broker, replay, account_id, started_at, "
                "updated_at, status, pid, last_bar, bars_processed, last_decision, positions_json, "
                "open_orders_json, followed_json, strategy_state_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )

    def sessions(self) -> list[LiveState]:
        """Every stored session, by key."""
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM live_sessions ORDER BY session").fetchall()
        return [_state(r) for r in rows]


def _state(r: Any) -> LiveState:
    return LiveState(
        session=r["session"],
        preset=r["preset"],
        broker=r["broker"],
        replay=bool(r["replay"]),
        account_id=r["account_id"],
        started_at=r["started_at"],
        updated_at=r["updated_at"],
        status=r["status"],
        pid=r["pid"],
        last_bar=r["last_bar"],
        bars_processed=int(r["bars_processed"]),
        last_decision=r["last_decision"],
        positions=json.loads(r["positions_json"]),
        open_orders=json.loads(r["open_orders_json"]),
        followed=json.loads(r["followed_json"]),
        strategy_state=json.loads(r["strategy_state_json"]),
    )

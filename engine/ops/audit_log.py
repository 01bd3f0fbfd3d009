"""The daily-ops audit log: signals, plans, orders, acknowledgements, fills and errors in the workspace SQLite.

Long because: one store of the five daily-ops tables (signals, plans and their lease, events, order results,
equity snapshots) with their writes and reads, and the fill-vs-open measure over its order results.

Every step of daily operations leaves a row here, so "what did we send, when, and why" can always be
answered: `signals` (one row per generated signal, with the data timestamp it used), `plans` (one row per
rebalance plan, keyed by its deterministic plan id, plus an execution lease so two executions of one plan
take turns: short, kept alive by a heartbeat, see engine.ops.lease), `audit_events` (append-only: plan, check, order, ack, fill, error, reconcile, notify, ...),
`order_results` (latest state of each order by client_order_id, with the fill-quality numbers and the time of
its last fill) and `equity_snapshots` (account equity over time: the daily-loss and drawdown checks read it).

Fill quality is measured two ways: `slippage_bps` against the plan's reference price (the broker's latest
price when the plan was made), stored with the order; and `slippage_vs_open` against the open of the session
the order filled in, which is the price the backtest assumes ("next open"). That one needs the session's bar,
so it is computed when asked, from the order results and the bars available then (pending until they are).

Tables are created through `engine.store.sqlite.ensure_schema` (component "audit_log"); every write is one
`BEGIN IMMEDIATE` transaction. Times are ISO-8601 UTC strings. Nothing secret is ever written here: callers
pass plain values (symbols, quantities, prices, messages).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from engine.store.jsonable import dumps
from engine.store.sqlite import Store, transaction

COMPONENT = "audit_log"
EVENT_KINDS: tuple[str, ...] = (
    "signal",
    "plan",
    "check",
    "execute",
    "order",
    "ack",
    "fill",
    "error",
    "reconcile",
    "notify",
    "kill_switch",
    "account",
    "protective",
)
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE signals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        preset TEXT NOT NULL,
        strategy TEXT NOT NULL,
        data_timestamp TEXT NOT NULL,
        stale INTEGER NOT NULL,
        targets_json TEXT NOT NULL,
        payload_json TEXT NOT NULL
    );
    CREATE INDEX signals_preset ON signals(preset, id);
    CREATE TABLE plans (
        plan_id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        preset TEXT NOT NULL,
        broker TEXT NOT NULL,
        account_id TEXT NOT NULL,
        data_timestamp TEXT NOT NULL,
        approved INTEGER NOT NULL,
        status TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        lease_owner TEXT,
        lease_until TEXT
    );
    CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        plan_id TEXT,
        client_order_id TEXT,
        symbol TEXT,
        message TEXT NOT NULL,
        payload_json TEXT NOT NULL
    );
    CREATE INDEX audit_events_plan ON audit_events(plan_id);
    CREATE TABLE order_results (
        client_order_id TEXT PRIMARY KEY,
        plan_id TEXT NOT NULL,
        broker TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        quantity REAL NOT NULL,
        filled_quantity REAL NOT NULL,
        avg_fill_price REAL,
        reference_price REAL NOT NULL,
        slippage_bps REAL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE equity_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        broker TEXT NOT NULL,
        account_id TEXT NOT NULL,
        equity REAL NOT NULL
    );
    CREATE INDEX equity_snapshots_account ON equity_snapshots(broker, account_id, ts);
    """,
    "ALTER TABLE order_results ADD COLUMN filled_at TEXT;",
)
ORDER_COLUMNS: tuple[str, ...] = (
    "client_order_id",
    "plan_id",
    "broker",
    "symbol",
    "side",
    "quantity",
    "filled_quantity",
    "avg_fill_price",
    "reference_price",
    "slippage_bps",
    "status",
    "reason",
    "updated_at",
    "filled_at",
)
MARKET_TZ = "America/New_York"
SESSION_CLOSE_HOUR = 16  # New York: a fill at or after 16:00 belongs to the next session


def _row_id(cur: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just added."""
    if cur.lastrowid is None:
        raise RuntimeError(f"audit log: the INSERT reported no row id (lastrowid={cur.lastrowid!r})")
    return cur.lastrowid


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(ts: Any) -> str:
    if isinstance(ts, str):
        return ts
    if isinstance(ts, datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return pd.Timestamp(ts).isoformat()


def _json(value: Any) -> str:
    return dumps(value, nat="NaT", sort_keys=True)


class AuditLog(Store):
    """The audit tables in one SQLite file (default: the workspace database). Safe across processes."""

    COMPONENT = COMPONENT
    MIGRATIONS = MIGRATIONS

    # ------------------------------------------------------------------ events
    def event(
        self,
        kind: str,
        message: str,
        *,
        plan_id: str | None = None,
        client_order_id: str | None = None,
        symbol: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one event; returns its id. `kind` is one of EVENT_KINDS."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"audit event kind {kind!r} is not one of {EVENT_KINDS}")
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "INSERT INTO audit_events (ts, kind, plan_id, client_order_id, symbol, message, payload_json) "
                "VALUES (?,?,?,?,?,?,?)",
                (_now(), kind, plan_id, client_order_id, symbol, str(message), _json(payload or {})),
            )
            return _row_id(cur)

    def event_once(self, kind: str, client_order_id: str, message: str, **fields: Any) -> bool:
        """Append the event unless one of this kind and client_order_id exists (checked and written in one
        transaction, so two processes record it once); True if this call wrote it."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"audit event kind {kind!r} is not one of {EVENT_KINDS}")
        with self._conn() as conn, transaction(conn):
            seen = conn.execute(
                "SELECT 1 FROM audit_events WHERE kind = ? AND client_order_id = ? LIMIT 1", (kind, client_order_id)
            ).fetchone()
            if seen:
                return False
            conn.execute(
                "INSERT INTO audit_events (ts, kind, plan_id, client_order_id, symbol, message, payload_json) "
                "VALUES (?,?,?,?,?,?,?)",
                (_now(), kind, fields.get("plan_id"), client_order_id, fields.get("symbol"), str(message),
                 _json(fields.get("payload") or {})),
            )  # fmt: skip
            return True

    def events(self, limit: int = 200, plan_id: str | None = None, kind: str | None = None) -> pd.DataFrame:
        """The newest `limit` events (newest first) as a frame: id, ts, kind, plan_id, client_order_id,
        symbol, message, payload (dict)."""
        sql = "SELECT * FROM audit_events"
        args: list[str | int] = []
        where = []
        if plan_id is not None:
            where.append("plan_id = ?")
            args.append(plan_id)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(int(limit))
        with self._conn() as conn:
            rows = conn.execute(sql, args).fetchall()
        cols = ["id", "ts", "kind", "plan_id", "client_order_id", "symbol", "message", "payload"]
        return pd.DataFrame(
            [
                [
                    r["id"],
                    r["ts"],
                    r["kind"],
                    r["plan_id"],
                    r["client_order_id"],
                    r["symbol"],
                    r["message"],
                    json.loads(r["payload_json"]),
                ]
                for r in rows
            ],
            columns=cols,
        )

    # ------------------------------------------------------------------ signals
    def record_signal(
        self,
        preset: str,
        strategy: str,
        data_timestamp: Any,
        stale: bool,
        targets: Mapping[str, float],
        payload: Mapping[str, Any],
    ) -> int:
        """Store one generated signal (targets = symbol -> weight) and log a "signal" event; returns its id."""
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "INSERT INTO signals (created_at, preset, strategy, data_timestamp, stale, targets_json, payload_json)"
                " VALUES (?,?,?,?,?,?,?)",
                (_now(), preset, strategy, _iso(data_timestamp), int(bool(stale)), _json(targets), _json(payload)),
            )
            sid = _row_id(cur)
        self.event(
            "signal",
            f"signal {sid} for preset {preset!r} on data of {_iso(data_timestamp)[:10]}"
            + (" (STALE data)" if stale else ""),
            payload={"signal_id": sid, "targets": targets},
        )
        return sid

    def last_signal(self, preset: str, before_id: int | None = None) -> dict[str, Any] | None:
        """The newest stored signal of `preset` (optionally older than id `before_id`), or None."""
        sql = "SELECT * FROM signals WHERE preset = ?"
        args: list[Any] = [preset]
        if before_id is not None:
            sql += " AND id < ?"
            args.append(before_id)
        with self._conn() as conn:
            r = conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        if r is None:
            return None
        return {
            "id": r["id"],
            "created_at": r["created_at"],
            "preset": r["preset"],
            "strategy": r["strategy"],
            "data_timestamp": r["data_timestamp"],
            "stale": bool(r["stale"]),
            "targets": json.loads(r["targets_json"]),
            "payload": json.loads(r["payload_json"]),
        }

    # ------------------------------------------------------------------ plans
    def record_plan(
        self,
        plan_id: str,
        preset: str,
        broker: str,
        account_id: str,
        data_timestamp: Any,
        approved: bool,
        payload: Mapping[str, Any],
    ) -> bool:
        """Store a plan once (a reload of the same plan keeps the first row); True if it was new."""
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "INSERT OR IGNORE INTO plans (plan_id, created_at, preset, broker, account_id, data_timestamp, "
                "approved, status, payload_json) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    plan_id,
                    _now(),
                    preset,
                    broker,
                    account_id,
                    _iso(data_timestamp),
                    int(bool(approved)),
                    "planned",
                    _json(payload),
                ),
            )
            if cur.rowcount == 0:  # known plan: refresh the approval (checks may differ now), keep the status
                conn.execute("UPDATE plans SET approved = ? WHERE plan_id = ?", (int(bool(approved)), plan_id))
            return cur.rowcount > 0

    def plan(self, plan_id: str) -> dict[str, Any] | None:
        with self._conn() as conn:
            r = conn.execute("SELECT * FROM plans WHERE plan_id = ?", (plan_id,)).fetchone()
        if r is None:
            return None
        out = {k: r[k] for k in r.keys() if k != "payload_json"}
        out["payload"] = json.loads(r["payload_json"])
        return out

    def set_plan_status(self, plan_id: str, status: str, payload: Mapping[str, Any] | None = None) -> None:
        """Set a plan's status; with `payload`, also the plan it stands for (the orders an execution works on)."""
        with self._conn() as conn, transaction(conn):
            if payload is None:
                conn.execute("UPDATE plans SET status = ? WHERE plan_id = ?", (status, plan_id))
            else:
                conn.execute(
                    "UPDATE plans SET status = ?, payload_json = ? WHERE plan_id = ?", (status, _json(payload), plan_id)
                )

    def acquire_lease(self, plan_id: str, owner: str, seconds: float) -> bool:
        """Take the execution lease of a stored plan for `seconds` unless another owner holds a live one (the holder
        renews it by taking it again: engine.ops.lease.Heartbeat)."""
        now = datetime.now(UTC)
        with self._conn() as conn, transaction(conn):
            r = conn.execute("SELECT lease_owner, lease_until FROM plans WHERE plan_id = ?", (plan_id,)).fetchone()
            if r is None:
                raise KeyError(plan_id)
            if (
                r["lease_owner"]
                and r["lease_owner"] != owner
                and r["lease_until"]
                and datetime.fromisoformat(r["lease_until"]) > now
            ):
                return False
            conn.execute(
                "UPDATE plans SET lease_owner = ?, lease_until = ? WHERE plan_id = ?",
                (owner, (now + timedelta(seconds=seconds)).isoformat(), plan_id),
            )
            return True

    def release_lease(self, plan_id: str, owner: str) -> None:
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "UPDATE plans SET lease_owner = NULL, lease_until = NULL WHERE plan_id = ? AND lease_owner = ?",
                (plan_id, owner),
            )

    # ------------------------------------------------------------------ orders and fill quality
    def record_order_result(
        self,
        *,
        client_order_id: str,
        plan_id: str,
        broker: str,
        symbol: str,
        side: str,
        quantity: float,
        filled_quantity: float,
        avg_fill_price: float | None,
        reference_price: float,
        slippage_bps: float | None,
        status: str,
        reason: str = "",
        filled_at: Any = None,
    ) -> bool:
        """Insert or update the latest state of one order (keyed by client_order_id); True if written.

        An existing row is only updated by the SAME order (plan id, broker, symbol, side and quantity within
        1e-6): a different order reusing the id never overwrites what was recorded (returns False).
        filled_at: time of the last fill (kept from before when None).
        """
        with self._conn() as conn, transaction(conn):
            cur = conn.execute(
                "INSERT INTO order_results (client_order_id, plan_id, broker, symbol, side, quantity, "
                "filled_quantity, avg_fill_price, reference_price, slippage_bps, status, reason, updated_at, "
                "filled_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(client_order_id) DO UPDATE "
                "SET filled_quantity=excluded.filled_quantity, avg_fill_price=excluded.avg_fill_price, "
                "slippage_bps=excluded.slippage_bps, status=excluded.status, reason=excluded.reason, "
                "updated_at=excluded.updated_at, filled_at=COALESCE(excluded.filled_at, order_results.filled_at) "
                "WHERE order_results.plan_id = excluded.plan_id AND order_results.broker = excluded.broker "
                "AND order_results.symbol = excluded.symbol AND order_results.side = excluded.side "
                "AND abs(order_results.quantity - excluded.quantity) <= 1e-6",
                (
                    client_order_id,
                    plan_id,
                    broker,
                    symbol,
                    side,
                    float(quantity),
                    float(filled_quantity),
                    avg_fill_price,
                    float(reference_price),
                    slippage_bps,
                    status,
                    reason,
                    _now(),
                    None if filled_at is None else _iso(filled_at),
                ),
            )
            return cur.rowcount > 0

    def order_results(self, plan_id: str | None = None, limit: int = 1000) -> pd.DataFrame:
        """Orders (oldest first) with fill quality: slippage_bps > 0 means the fill was worse than the
        reference price (paid more on a buy, received less on a sell)."""
        sql, args = "SELECT * FROM order_results", []
        if plan_id is not None:
            sql, args = sql + " WHERE plan_id = ?", [plan_id]
        with self._conn() as conn:
            rows = conn.execute(sql + " ORDER BY updated_at DESC, rowid DESC LIMIT ?", [*args, limit]).fetchall()
        cols = list(ORDER_COLUMNS)
        frame = pd.DataFrame([[r[c] for c in cols] for r in rows], columns=cols)
        return frame.iloc[::-1].reset_index(drop=True)

    # ------------------------------------------------------------------ equity snapshots
    def record_equity(self, broker: str, account_id: str, equity: float, ts: datetime | None = None) -> None:
        """Remember the account equity at `ts` (default now) for the daily-loss and drawdown checks."""
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "INSERT INTO equity_snapshots (ts, broker, account_id, equity) VALUES (?,?,?,?)",
                (_iso(ts or datetime.now(UTC)), broker, account_id, float(equity)),
            )

    def equity_history(self, broker: str, account_id: str) -> pd.Series:
        """Recorded equity of one account, indexed by UTC timestamp (oldest first)."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT ts, equity FROM equity_snapshots WHERE broker = ? AND account_id = ? ORDER BY ts, id",
                (broker, account_id),
            ).fetchall()
        idx = pd.DatetimeIndex([pd.Timestamp(r["ts"]) for r in rows], name="ts")
        return pd.Series([float(r["equity"]) for r in rows], index=idx, name="equity", dtype="float64")


# ---------------------------------------------------------------------------------------------- fill vs next open
def fill_session(filled_at: Any) -> pd.Timestamp:
    """The session (New York date) a fill belongs to: its own date when it filled on a weekday before 16:00
    New York time, else the next weekday (an after-hours or weekend fill is priced by the next session).
    Exchange holidays are handled by `slippage_vs_open`, which takes the first bar on or after this date."""
    ts = pd.Timestamp(filled_at)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    local = ts.tz_convert(MARKET_TZ)
    day = local.tz_localize(None).normalize()
    if local.hour >= SESSION_CLOSE_HOUR:
        day += pd.Timedelta(days=1)
    while day.weekday() >= 5:
        day += pd.Timedelta(days=1)
    return day


def _session_open(opens: pd.Series, session: pd.Timestamp) -> tuple[pd.Timestamp | None, float | None]:
    """The first bar on or after `session` and its open, or (None, None) while that bar is not in the data."""
    ser = opens.dropna()
    idx = pd.DatetimeIndex(ser.index)
    idx = idx.tz_localize(None) if idx.tz is not None else idx
    pos = int(idx.normalize().searchsorted(session, side="left"))
    if pos >= len(ser):
        return None, None
    return pd.Timestamp(idx[pos]).normalize(), float(ser.iloc[pos])


def slippage_vs_open(results: pd.DataFrame, opens: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Each filled order vs the open of the session it filled in (the backtest's "next open" fill price).

    results: `AuditLog.order_results()`; opens: symbol -> daily open prices (DatetimeIndex of session dates).
    Returns the filled rows with columns session (the fill's session date, see `fill_session`), bar_date (the
    bar used: the first on or after the session), session_open and slippage_open_bps (positive = worse than
    that open: paid more on a buy, received less on a sell). Rows whose bar is not in `opens` yet keep NaN.
    """
    done = results[(results["filled_quantity"] > 0) & results["avg_fill_price"].notna()].copy()
    when = done["filled_at"].where(done["filled_at"].notna(), done["updated_at"])
    sessions, bars, prices, slips = [], [], [], []
    for row, ts in zip(done.itertuples(), when):
        session = fill_session(ts)
        bar, px = _session_open(opens[row.symbol], session) if row.symbol in opens else (None, None)
        sessions.append(session)
        bars.append(bar)
        prices.append(px if px is not None else math.nan)
        if px is None or not px:
            slips.append(math.nan)
        else:
            ratio = float(row.avg_fill_price) / px
            slips.append((ratio - 1.0) * 1e4 if row.side == "buy" else (1.0 - ratio) * 1e4)
    return done.assign(
        session=pd.to_datetime(sessions), bar_date=pd.to_datetime(bars), session_open=prices, slippage_open_bps=slips
    ).reset_index(drop=True)

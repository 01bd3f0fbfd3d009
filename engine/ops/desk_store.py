"""The desk's tables in the workspace SQLite: account snapshots (the equity history) and flatten runs.

`account_snapshots`: one row per account read through the desk services (time, broker, account id, equity,
cash, gross / net exposure, in the account currency; source "desk"), plus the equity points a broker reports
itself (`import_history`, e.g. Alpaca's portfolio history: source names where they came from, cash and exposure
unknown, so NULL). An imported point is unique per (broker, account, source, time): importing it again adds
nothing. `history` reads them back as a frame and `drawdown` is engine.metrics' drawdown of its equity. `flatten_runs`: one row per flatten (run id, broker, account, status
"running" or "done"), so a flatten interrupted by a broker disconnect is resumed under the same run id (its
client_order_ids are derived from it, so a rerun never sends an order twice).

Tables are created through `engine.store.sqlite.ensure_schema` (component "desk"); times are ISO-8601 UTC.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd

from engine.errors import ConfigError
from engine.metrics.curve import drawdown
from engine.store.sqlite import Store, transaction

COMPONENT = "desk"
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE account_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        broker TEXT NOT NULL,
        account_id TEXT NOT NULL,
        equity REAL NOT NULL,
        cash REAL NOT NULL,
        gross_exposure REAL NOT NULL,
        net_exposure REAL NOT NULL
    );
    CREATE INDEX account_snapshots_account ON account_snapshots(broker, account_id, ts);
    CREATE TABLE flatten_runs (
        run_id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        broker TEXT NOT NULL,
        account_id TEXT NOT NULL,
        status TEXT NOT NULL,
        finished_at TEXT
    );
    """,
    # 2: imported points (source != 'desk') without cash / exposure; SQLite cannot drop NOT NULL in place
    """
    CREATE TABLE account_snapshots_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        broker TEXT NOT NULL,
        account_id TEXT NOT NULL,
        equity REAL NOT NULL,
        cash REAL,
        gross_exposure REAL,
        net_exposure REAL,
        source TEXT NOT NULL DEFAULT 'desk'
    );
    INSERT INTO account_snapshots_v2 (id, ts, broker, account_id, equity, cash, gross_exposure, net_exposure)
        SELECT id, ts, broker, account_id, equity, cash, gross_exposure, net_exposure FROM account_snapshots;
    DROP TABLE account_snapshots;
    ALTER TABLE account_snapshots_v2 RENAME TO account_snapshots;
    CREATE INDEX account_snapshots_account ON account_snapshots(broker, account_id, ts);
    CREATE UNIQUE INDEX account_snapshots_imported ON account_snapshots(broker, account_id, source, ts)
        WHERE source != 'desk';
    """,
)
HISTORY_COLUMNS: tuple[str, ...] = ("equity", "cash", "gross_exposure", "net_exposure")
DESK_SOURCE = "desk"  # a snapshot taken by the desk services (the other sources are imports)


def _iso(ts: datetime | None) -> str:
    t = ts or datetime.now(UTC)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class DeskStore(Store):
    """Account snapshots and flatten runs in one SQLite file (default: the workspace database)."""

    COMPONENT = COMPONENT
    MIGRATIONS = MIGRATIONS

    # ------------------------------------------------------------------ equity history
    def record_snapshot(
        self,
        broker: str,
        account_id: str,
        equity: float,
        cash: float,
        gross_exposure: float,
        net_exposure: float,
        ts: datetime | None = None,
    ) -> None:
        """Store one account snapshot taken at `ts` (default now)."""
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "INSERT INTO account_snapshots (ts, broker, account_id, equity, cash, gross_exposure, net_exposure)"
                " VALUES (?,?,?,?,?,?,?)",
                (_iso(ts), broker, account_id, float(equity), float(cash), float(gross_exposure), float(net_exposure)),
            )

    def import_history(
        self, broker: str, account_id: str, points: Iterable[tuple[datetime, float]], source: str = "portfolio_history"
    ) -> int:
        """Store the equity points a broker reports (time, equity; naive time = UTC) under `source`; returns how
        many were new. A point already imported keeps its row (its equity is updated if the broker revised it).

        A point whose equity is not a finite number > 0 is skipped (Alpaca reports 0 for the days before an
        account was funded: that is no equity level, and a drawdown from it is undefined).
        """
        if not source or source == DESK_SOURCE:
            raise ConfigError(f"import_history: source {source!r} must name where the points come from (not 'desk')")
        rows = []
        for ts, equity in points:
            value = float(equity)
            if math.isfinite(value) and value > 0:
                rows.append((_iso(ts), value))
        new = 0
        with self._conn() as conn, transaction(conn):
            for ts_iso, value in rows:
                cur = conn.execute(
                    "UPDATE account_snapshots SET equity = ? "
                    "WHERE broker = ? AND account_id = ? AND source = ? AND ts = ?",
                    (value, broker, account_id, source, ts_iso),
                )
                if cur.rowcount == 0:
                    conn.execute(
                        "INSERT INTO account_snapshots (ts, broker, account_id, equity, source) VALUES (?,?,?,?,?)",
                        (ts_iso, broker, account_id, value, source),
                    )
                    new += 1
        return new

    def history(self, broker: str, account_id: str) -> pd.DataFrame:
        """Snapshots and imported points of one account, oldest first: HISTORY_COLUMNS (NaN where an imported
        point does not know them) and `source`, indexed by UTC timestamp ("ts")."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT * FROM account_snapshots WHERE broker = ? AND account_id = ? ORDER BY ts, id",
                (broker, account_id),
            ).fetchall()
        idx = pd.DatetimeIndex([pd.Timestamp(r["ts"]) for r in rows], name="ts")
        values = [[math.nan if r[c] is None else float(r[c]) for c in HISTORY_COLUMNS] + [r["source"]] for r in rows]
        return pd.DataFrame(values, index=idx, columns=[*HISTORY_COLUMNS, "source"])

    def drawdown(self, broker: str, account_id: str) -> pd.Series:
        """Drawdown of the recorded equity (a fraction <= 0 at each snapshot: e / running max - 1)."""
        equity = self.history(broker, account_id)["equity"]
        dd = drawdown(equity)
        assert isinstance(dd, pd.Series)
        return dd.rename("drawdown")

    # ------------------------------------------------------------------ flatten runs
    def open_flatten_run(self, broker: str, account_id: str) -> tuple[str, bool]:
        """The unfinished flatten run of this account (resumed: True), else a new one (False)."""
        with self._conn() as conn, transaction(conn):
            row = conn.execute(
                "SELECT run_id FROM flatten_runs WHERE broker = ? AND account_id = ? AND status = 'running' "
                "ORDER BY started_at DESC LIMIT 1",
                (broker, account_id),
            ).fetchone()
            if row is not None:
                return str(row["run_id"]), True
            now = datetime.now(UTC)
            run_id = f"flat-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
            conn.execute(
                "INSERT INTO flatten_runs (run_id, started_at, broker, account_id, status) VALUES (?,?,?,?,?)",
                (run_id, now.isoformat(), broker, account_id, "running"),
            )
            return run_id, False

    def finish_flatten_run(self, run_id: str) -> None:
        """Mark a flatten run done (the next flatten starts a new one)."""
        with self._conn() as conn, transaction(conn):
            conn.execute(
                "UPDATE flatten_runs SET status = 'done', finished_at = ? WHERE run_id = ?", (_iso(None), run_id)
            )

    def flatten_run(self, run_id: str) -> dict[str, str | None] | None:
        """One flatten run's row (run_id, started_at, broker, account_id, status, finished_at), or None."""
        with self._conn() as conn:
            r = conn.execute("SELECT * FROM flatten_runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if r is None else {k: r[k] for k in r.keys()}

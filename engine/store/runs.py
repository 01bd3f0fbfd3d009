"""The run store: every saved run in the workspace's SQLite database (DESIGN §5).

One row per run in `runs` (request, metrics, reproducibility key and its three hashes as JSON/text, plus
the key metrics as real columns for listing and sorting), its symbols in `run_symbols` (for filtering), and
its series and frames in `run_frames` as Parquet blobs. Why Parquet blobs and not SQL tables: weights and
positions are wide (bars x symbols, 36+ columns), so a long-format table would hold ~600k rows per run;
Parquet keeps dtypes, the DatetimeIndex and float64 bits exactly (NaN included), compresses well and reads
back in milliseconds, while everything one filters or sorts by is a plain column.

The database runs in WAL mode (readers do not block the writer: the app and a worker can share it); every
write is one transaction (`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on any error, so an interrupted write
leaves earlier runs intact). `schema_version` records each component's schema version; other modules (jobs,
orders, audit) add their tables with `engine.store.sqlite.ensure_schema(conn, component, migrations)` in their
own files.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from engine.config import BacktestConfig
from engine.errors import EngineError
from engine.metrics.registry import KEY_METRICS
from engine.request import BacktestRequest
from engine.sim.result import BacktestResult
from engine.store.jsonable import json_default
from engine.store.parquet_blobs import SERIES_COLUMN, frame_parquet, read_parquet, series_parquet
from engine.store.reproduce import ReproKey, reproducibility_key
from engine.store.run_labels import LABELS_MIGRATION, RunLabels, tags_by_run
from engine.store.sqlite import connect, ensure_schema, transaction
from engine.store.workspace import db_path

KINDS: tuple[str, ...] = ("backtest", "optimize", "walkforward", "montecarlo", "scorecard")
SERIES: tuple[str, ...] = ("equity", "returns", "cash", "benchmark")
FRAMES: tuple[str, ...] = ("weights", "positions", "trades", "fills")
ORDERS_FRAME = "orders"
"""The order log of an event run (engine.sim.event.fills.ORDER_LOG_COLUMNS), stored when the run has one."""
PAYLOAD_FRAME = "payload"
"""Frame holding the JSON payload of an analysis run (`save_analysis`, `load_payload`)."""

RUNS_MIGRATIONS: tuple[str, ...] = (
    # version 1
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT,
        strategy TEXT NOT NULL,
        symbols TEXT NOT NULL,
        start TEXT,
        end TEXT,
        request_json TEXT NOT NULL,
        result_json TEXT NOT NULL,
        metrics_json TEXT NOT NULL,
        repro_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        data_hash TEXT NOT NULL,
        version TEXT NOT NULL,
        total_return REAL, cagr REAL, sharpe REAL, max_drawdown REAL, final_equity REAL, n_trades REAL
    );
    CREATE INDEX runs_created ON runs(created_at);
    CREATE INDEX runs_strategy ON runs(strategy);
    CREATE INDEX runs_key ON runs(repro_key);
    CREATE TABLE run_symbols (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        symbol TEXT NOT NULL,
        PRIMARY KEY (run_id, symbol)
    );
    CREATE INDEX run_symbols_symbol ON run_symbols(symbol);
    CREATE TABLE run_frames (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        format TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    """,
    LABELS_MIGRATION,  # version 2: notes and tags (engine.store.run_labels)
)


class RunNotFound(EngineError):
    """No saved run has this id (or the id prefix is ambiguous)."""


@dataclass(frozen=True)
class StoredRun:
    """A run read back from the store: its request, the rebuilt result, its reproducibility key, and the name
    (None when unset), tags and notes a person gave it."""

    id: str
    created_at: str
    kind: str
    name: str | None
    request: BacktestRequest
    result: BacktestResult
    key: str
    request_hash: str
    data_hash: str
    version: str
    tags: tuple[str, ...] = ()
    notes: str = ""

    @property
    def metrics(self) -> dict[str, float]:
        return self.result.metrics


class RunStore(RunLabels):
    """Saved runs in SQLite (default: the workspace's `ivybt.db`). Safe to share between processes. Names, tags
    and notes: `RunLabels`."""

    def __init__(self, path: str | PathLike[str] | None = None, *, durable: bool = True) -> None:
        """durable=False: commits not flushed to the disk (engine.store.sqlite.connect), for runs a batch job
        saves: a power cut may roll back the last ones together with their job's end, and the job runs again."""
        self.path = Path(path) if path is not None else db_path()
        self.durable = durable
        with self._connect() as conn:
            ensure_schema(conn, "runs", RUNS_MIGRATIONS)

    def _connect(self) -> closing[sqlite3.Connection]:
        return closing(connect(self.path, durable=self.durable))

    def save(
        self,
        result: BacktestResult,
        request: BacktestRequest,
        *,
        kind: str = "backtest",
        name: str | None = None,
        key: ReproKey | None = None,
    ) -> str:
        """Store one run in one transaction and return its id (12 hex characters).

        key: the run's `ReproKey`; computed from the request (which loads its data again, from the cache)
        when not given.
        """
        if kind not in KINDS:
            raise EngineError(f"run kind {kind!r} is not one of {KINDS}")
        if key is None:
            key = reproducibility_key(request)
        blobs = [(n, "parquet", series_parquet(getattr(result, n))) for n in SERIES if getattr(result, n) is not None]
        blobs += [(n, "parquet", frame_parquet(getattr(result, n))) for n in FRAMES]
        if result.orders is not None:  # an event run's order log
            blobs.append((ORDERS_FRAME, "parquet", frame_parquet(result.orders)))
        run_id = uuid.uuid4().hex[:12]
        created = datetime.now(UTC).isoformat(timespec="microseconds")
        index = result.equity.index
        start, end = (_iso(index[0]), _iso(index[-1])) if len(index) else (request.start, request.end)
        meta = {
            "config": result.config.to_dict(),
            "strategy": result.strategy,
            "params": dict(result.params),
            "symbols": list(result.symbols),
            "benchmark_metrics": dict(result.benchmark_metrics),
            "series_names": {n: _name(getattr(result, n)) for n in SERIES if getattr(result, n) is not None},
            "warnings": list(result.warnings),
        }
        metrics = {str(k): _plain(v) for k, v in result.metrics.items()}
        row = {
            "id": run_id,
            "created_at": created,
            "kind": kind,
            "name": name,
            "strategy": request.strategy,
            "symbols": ",".join(request.symbols),
            "start": start,
            "end": end,
            "request_json": json.dumps(request.to_dict(), default=json_default),
            "result_json": json.dumps(meta, default=json_default),
            "metrics_json": json.dumps(metrics),
            "repro_key": key.key,
            "request_hash": key.request_hash,
            "data_hash": key.data_hash,
            "version": key.version,
            **{m: _plain(result.metrics.get(m)) for m in KEY_METRICS},
        }
        with self._connect() as conn, transaction(conn):
            conn.execute(
                f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
            )
            conn.executemany(
                "INSERT INTO run_symbols (run_id, symbol) VALUES (?, ?)", [(run_id, s) for s in request.symbols]
            )
            conn.executemany(
                "INSERT INTO run_frames (run_id, name, format, data) VALUES (?, ?, ?, ?)",
                [(run_id, n, f, b) for n, f, b in blobs],
            )
        return run_id

    def list(
        self,
        strategy: str | None = None,
        symbol: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        tag: str | None = None,
    ) -> pd.DataFrame:
        """Saved runs, newest first: id, created_at, kind, name, strategy, symbols, start, end (the first and
        last bar of the run), the key metrics (total_return, cagr, sharpe, max_drawdown as fractions;
        final_equity in account currency; n_trades), the reproducibility key, tags (comma-joined) and notes.
        tag: only runs carrying it."""
        where, args = [], []
        if tag:
            where.append("id IN (SELECT run_id FROM run_tags WHERE tag = ?)")
            args.append(tag.strip())
        if strategy:
            where.append("strategy = ?")
            args.append(strategy)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if symbol:
            where.append("id IN (SELECT run_id FROM run_symbols WHERE symbol = ?)")
            args.append(symbol.strip().upper())
        sql = (
            "SELECT id, created_at, kind, name, strategy, symbols, start, end, "
            f"{', '.join(KEY_METRICS)}, repro_key AS key, notes FROM runs"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            if int(limit) < 0:
                raise EngineError(f"limit must be >= 0, got {limit}")
            sql += f" LIMIT {int(limit)}"
        with self._connect() as conn:
            cur = conn.execute(sql, args)
            cols = [c[0] for c in cur.description]
            df = pd.DataFrame(cur.fetchall(), columns=cols)
            tags = tags_by_run(conn)
        df.insert(len(df.columns) - 1, "tags", [",".join(tags.get(i, [])) for i in df["id"]])
        for m in KEY_METRICS:
            df[m] = df[m].astype("float64")
        return df

    def load(self, run_id: str) -> StoredRun:
        """Rebuild a saved run (the same frames, bit for bit). `run_id` may be a unique prefix of >= 4 chars."""
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            cur = conn.execute("SELECT * FROM runs WHERE id = ?", (full,))
            row = dict(zip([c[0] for c in cur.description], cur.fetchone()))
            frames = {
                n: read_parquet(b)
                for n, b in conn.execute("SELECT name, data FROM run_frames WHERE run_id = ?", (full,)).fetchall()
            }
            tags = tuple(tags_by_run(conn, [full]).get(full, []))
        meta = json.loads(row["result_json"])
        series = {}
        for n in SERIES:
            if n in frames:
                s = frames[n][SERIES_COLUMN]
                s.name = meta["series_names"].get(n)
                series[n] = s
        result = BacktestResult(
            config=BacktestConfig.from_dict(meta["config"]),
            strategy=meta["strategy"],
            params=meta["params"],
            symbols=meta["symbols"],
            equity=series["equity"],
            returns=series["returns"],
            cash=series["cash"],
            weights=frames["weights"],
            positions=frames["positions"],
            trades=frames["trades"],
            fills=frames["fills"],
            metrics=json.loads(row["metrics_json"]),
            benchmark=series.get("benchmark"),
            benchmark_metrics=meta["benchmark_metrics"],
            orders=frames.get(ORDERS_FRAME),
        )
        result.warnings.extend(meta.get("warnings", []))  # runs saved before warnings existed have none
        request = BacktestRequest.from_dict(json.loads(row["request_json"]))
        return StoredRun(
            id=full,
            created_at=row["created_at"],
            kind=row["kind"],
            name=row["name"],
            request=request,
            result=result,
            key=row["repro_key"],
            request_hash=row["request_hash"],
            data_hash=row["data_hash"],
            version=row["version"],
            tags=tags,
            notes=row["notes"],
        )

    def delete(self, run_id: str) -> str:
        """Delete a run and its frames in one transaction; returns the full id. Unknown id -> RunNotFound."""
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            with transaction(conn):
                conn.execute("DELETE FROM runs WHERE id = ?", (full,))
        return full

    def latest(self) -> StoredRun | None:
        """The most recently saved run, or None when the store is empty."""
        with self._connect() as conn:
            row = conn.execute("SELECT id FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1").fetchone()
        return self.load(row[0]) if row else None

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def save_optimization(
        self,
        best: BacktestResult,
        request: BacktestRequest,
        table: pd.DataFrame,
        *,
        kind: str = "optimize",
        spec: dict[str, Any] | None = None,
        name: str | None = None,
        key: ReproKey | None = None,
    ) -> str:
        """Store an optimization as one run: the best set's backtest (listed, loaded and compared like any
        run, with `kind`) plus the ranked trial table as frame "optimization" and the spec (JSON) as frame
        "optimization_spec"; read them back with `load_frame`. If adding the frames fails, the run is removed.
        """
        run_id = self.save(best, request, kind=kind, name=name, key=key)
        return self._attach(
            run_id,
            [
                ("optimization", frame_parquet(table)),
                (
                    "optimization_spec",
                    frame_parquet(pd.DataFrame({"spec_json": [json.dumps(spec or {}, default=json_default)]})),
                ),
            ],
        )

    def _attach(self, run_id: str, extra: Sequence[tuple[str, bytes]]) -> str:
        """Add named Parquet frames to a just-saved run in one transaction; on failure the run is removed."""
        try:
            with self._connect() as conn, transaction(conn):
                conn.executemany(
                    "INSERT INTO run_frames (run_id, name, format, data) VALUES (?, ?, 'parquet', ?)",
                    [(run_id, n, b) for n, b in extra],
                )
        except BaseException:
            self.delete(run_id)
            raise
        return run_id

    def save_analysis(
        self,
        result: BacktestResult,
        request: BacktestRequest,
        *,
        kind: str,
        frames: Mapping[str, pd.DataFrame] | None = None,
        payload: Mapping[str, Any] | None = None,
        name: str | None = None,
        key: ReproKey | None = None,
    ) -> str:
        """Store an analysis (walk-forward, Monte Carlo, scorecard) as one run: `result` is what the run
        lists, loads and compares as (with `kind`); `frames` are extra named frames and `payload` a JSON
        mapping (frame "payload"); read them back with `load_frame` / `load_payload`. If adding them fails,
        the run is removed."""
        frames = dict(frames or {})
        taken = sorted(set(frames) & {*SERIES, *FRAMES, PAYLOAD_FRAME, ORDERS_FRAME})
        if taken:
            raise EngineError(f"frame name(s) {taken} are reserved by the run itself; choose other names")
        run_id = self.save(result, request, kind=kind, name=name, key=key)
        extra = [(n, frame_parquet(f)) for n, f in frames.items()]
        extra.append(
            (
                PAYLOAD_FRAME,
                frame_parquet(pd.DataFrame({"payload_json": [json.dumps(dict(payload or {}), default=json_default)]})),
            )
        )
        return self._attach(run_id, extra)

    def load_payload(self, run_id: str) -> dict[str, Any]:
        """The JSON payload an analysis run was saved with (RunNotFound when the run has none)."""
        return json.loads(self.load_frame(run_id, PAYLOAD_FRAME)["payload_json"].iloc[0])

    def load_frame(self, run_id: str, name: str) -> pd.DataFrame:
        """One stored frame of a run by name (e.g. "optimization"); RunNotFound names what is missing."""
        with self._connect() as conn:
            full = self._resolve(conn, run_id)
            row = conn.execute("SELECT data FROM run_frames WHERE run_id = ? AND name = ?", (full, name)).fetchone()
        if row is None:
            raise RunNotFound(f"run {full} has no frame {name!r}")
        return read_parquet(row[0])

    def _resolve(self, conn: sqlite3.Connection, run_id: str) -> str:
        text = str(run_id).strip().lower()
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (text,)).fetchone():
            return text
        if len(text) >= 4 and all(c in "0123456789abcdef" for c in text):
            ids = [r[0] for r in conn.execute("SELECT id FROM runs WHERE id LIKE ?", (text + "%",)).fetchall()]
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                raise RunNotFound(f"run id {run_id!r} is ambiguous: matches {', '.join(sorted(ids))}")
        raise RunNotFound(f"no saved run with id {run_id!r} in {self.path} (see `ivybt runs list`)")


def _name(series: pd.Series) -> Any:
    return series.name if isinstance(series.name, (str, int, float, type(None))) else str(series.name)


def _iso(ts: Any) -> str:
    return ts.isoformat() if hasattr(ts, "isoformat") else str(ts)


def _plain(value: Any) -> Any:
    """A JSON/SQLite-friendly scalar: numpy -> Python; NaN and inf stay floats (json writes NaN/Infinity)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return value

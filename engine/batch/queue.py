"""The job queue: batches and their jobs in the workspace's SQLite database (DESIGN §5, §7).

Long because: one state machine over the batch and job tables (submit, claim, start, heartbeat, finish, fail,
cancel, retry, stale requeue and the reads of it), every transition guarded by the same ownership checks.

States: queued -> running (worker id, attempts, progress, heartbeat) -> done (run id, objective) | failed
(error and traceback kept) | cancelled. A runner's driver may claim jobs ahead of its pool: such a job is
running but waiting (`started_at` unset, shown as state "waiting") until a pool process `start`s it, so its
duration counts only its compute. Claiming is atomic (`BEGIN IMMEDIATE`: one writer at a time, so two
workers never take the same job). A running job whose heartbeat is older than `stale_after` seconds is
returned to the queue — its worker crashed or was killed — until it has been tried `max_attempts` times;
then it fails with "worker lost"; a driver that sees the process computing a job die says so at once (`lost`,
the same rule). Every state change of a running job is fenced by the worker id: a worker that lost its job
(cancelled, or presumed dead and requeued) can no longer finish it, so a job ends done at most once. Times are
Unix epoch seconds (float).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from engine.alerts import alert
from engine.batch.spec import Batch, JobSpec
from engine.errors import EngineError
from engine.store.jsonable import json_default
from engine.store.sqlite import connect, ensure_schema, transaction
from engine.store.workspace import db_path

STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled")
FINAL: tuple[str, ...] = ("done", "failed", "cancelled")
DEFAULT_MAX_ATTEMPTS = 3

JOBS_MIGRATIONS: tuple[str, ...] = (
    # version 1
    """
    CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at REAL NOT NULL,
        source TEXT,
        text TEXT,
        n_jobs INTEGER NOT NULL
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        strategy TEXT NOT NULL,
        symbols TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        progress REAL NOT NULL DEFAULT 0,
        message TEXT,
        worker TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        heartbeat_at REAL,
        finished_at REAL,
        run_id TEXT,
        objective_name TEXT,
        objective REAL,
        summary_json TEXT,
        error TEXT,
        traceback TEXT
    );
    CREATE INDEX jobs_queue ON jobs(status, created_at, seq);
    CREATE INDEX jobs_batch ON jobs(batch_id, seq);
    """,
    # version 2: the objective's direction per job (1: higher is better), read by the batch summary
    """
    ALTER TABLE jobs ADD COLUMN maximize INTEGER NOT NULL DEFAULT 1;
    UPDATE jobs SET maximize = CASE
        WHEN json_extract(spec_json, '$.maximize') IS NOT NULL THEN json_extract(spec_json, '$.maximize')
        WHEN json_extract(spec_json, '$.optimize.maximize') IS NOT NULL THEN json_extract(spec_json, '$.optimize.maximize')
        WHEN json_extract(spec_json, '$.objective') IN ('annual_volatility', 'max_drawdown_duration', 'turnover') THEN 0
        ELSE 1 END;
    """,
)

JOB_COLUMNS: tuple[str, ...] = (
    "id",
    "batch_id",
    "seq",
    "name",
    "kind",
    "strategy",
    "symbols",
    "status",
    "progress",
    "message",
    "worker",
    "attempts",
    "max_attempts",
    "created_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "run_id",
    "objective_name",
    "objective",
    "maximize",
    "error",
    "traceback",
)


def heartbeat_interval() -> float:
    """Seconds between heartbeats of a running job (`IVYBT_HEARTBEAT_S`, default 5)."""
    return float(os.environ.get("IVYBT_HEARTBEAT_S") or 5.0)


def stale_timeout() -> float:
    """Seconds without a heartbeat after which a running job counts as lost (`IVYBT_STALE_S`, default 60)."""
    return float(os.environ.get("IVYBT_STALE_S") or 60.0)


def keyed_id(key: str) -> str:
    """The batch and job id of a job queued under `key` (`JobQueue.submit_once`): "k" + 11 hex characters of
    the key's SHA-256, so every process derives the same id."""
    return "k" + hashlib.sha256(key.encode()).hexdigest()[:11]


def new_worker_id(prefix: str = "worker") -> str:
    """A worker id unique across machines and restarts: prefix@host:pid:random."""
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:4]}"


class JobNotFound(EngineError):
    """No job (or batch) has this id."""


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker now owns: run `spec`, heartbeat, then finish or fail it with the same worker id."""

    id: str
    batch_id: str
    spec: JobSpec
    attempt: int
    summary: dict[str, Any] | None  # written by an earlier attempt that got as far as saving


class JobQueue:
    """Batches and jobs in SQLite (default: the workspace's `ivybt.db`). Safe to share between processes."""

    def __init__(self, path: str | PathLike[str] | None = None, *, stale_after: float | None = None) -> None:
        self.path = Path(path) if path is not None else db_path()
        self.stale_after = float(stale_after) if stale_after is not None else stale_timeout()
        with _Conn(self.path) as conn:
            ensure_schema(conn, "jobs", JOBS_MIGRATIONS)

    # --- submitting -------------------------------------------------------------------------------------

    def submit(self, batch: Batch, *, max_attempts: int | None = None) -> str:
        """Queue every job of `batch` in one transaction; returns the batch id (12 hex characters)."""
        batch_id = uuid.uuid4().hex[:12]
        with _Conn(self.path) as conn, transaction(conn):
            self._insert(conn, batch, batch_id, [uuid.uuid4().hex[:12] for _ in batch.jobs], max_attempts)
        return batch_id

    def submit_once(self, batch: Batch, key: str, *, max_attempts: int | None = None) -> tuple[str, bool]:
        """Queue a one-job `batch` under `key` unless that key was queued before (by any process, whatever the
        job's state since): (job id, True if this call queued it). Batch and job ids are `keyed_id(key)`."""
        if len(batch.jobs) != 1:
            raise EngineError(f"submit_once queues one job, got {len(batch.jobs)} in batch {batch.name!r}")
        job_id = keyed_id(key)
        with _Conn(self.path) as conn, transaction(conn):
            if conn.execute("SELECT 1 FROM batches WHERE id = ?", (job_id,)).fetchone():
                return job_id, False
            self._insert(conn, batch, job_id, [job_id], max_attempts)
        return job_id, True

    def _insert(self, conn: Any, batch: Batch, batch_id: str, job_ids: list[str], max_attempts: int | None) -> None:
        attempts = int(max_attempts or batch.max_attempts or DEFAULT_MAX_ATTEMPTS)
        if attempts < 1:
            raise EngineError(f"max_attempts must be >= 1, got {attempts}")
        now = time.time()
        rows = [
            (
                job_id,
                batch_id,
                i,
                job.name,
                job.kind,
                job.request.strategy,
                ",".join(job.request.symbols),
                json.dumps(job.to_dict()),
                "queued",
                attempts,
                now,
                int(job.higher_is_better()),
            )
            for i, (job_id, job) in enumerate(zip(job_ids, batch.jobs))
        ]
        conn.execute(
            "INSERT INTO batches (id, name, created_at, source, text, n_jobs) VALUES (?, ?, ?, ?, ?, ?)",
            (batch_id, batch.name, now, batch.source, batch.text, len(rows)),
        )
        conn.executemany(
            "INSERT INTO jobs (id, batch_id, seq, name, kind, strategy, symbols, spec_json, status, "
            "max_attempts, created_at, maximize) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    # --- a worker's side --------------------------------------------------------------------------------

    def claim(
        self,
        worker: str,
        *,
        batch_id: str | None = None,
        job_id: str | None = None,
        started: bool = True,
        message: str | None = None,
    ) -> ClaimedJob | None:
        """Atomically take the oldest queued job (of `batch_id`, or exactly `job_id`); None if there is none.

        Lost jobs (stale heartbeat) go back to the queue first, so a restarted worker picks them up.
        started=False: the job waits for a free process of a pool until `start` (no started_at yet).
        message: the job's note from now (what it waits for, where it runs), in the same transaction.
        """
        now = time.time()
        with _Conn(self.path) as conn, transaction(conn):
            self._requeue_stale(conn, now)
            sql, args = "SELECT id FROM jobs WHERE status = 'queued'", []
            if batch_id:
                sql, args = sql + " AND batch_id = ?", [batch_id]
            if job_id:
                sql, args = sql + " AND id = ?", [*args, job_id]
            row = conn.execute(sql + " ORDER BY created_at, seq LIMIT 1", args).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = 'running', worker = ?, attempts = attempts + 1, started_at = ?, "
                "heartbeat_at = ?, progress = 0, message = ?, error = NULL, traceback = NULL "
                "WHERE id = ?",
                (worker, now if started else None, now, message, row[0]),
            )
            rec = conn.execute(
                "SELECT id, batch_id, spec_json, attempts, summary_json FROM jobs WHERE id = ?", (row[0],)
            ).fetchone()
        return ClaimedJob(
            id=rec[0],
            batch_id=rec[1],
            spec=JobSpec.from_dict(json.loads(rec[2])),
            attempt=int(rec[3]),
            summary=json.loads(rec[4]) if rec[4] else None,
        )

    def start(self, job_id: str, worker: str, executor: str) -> bool:
        """A claimed job's compute begins now in `executor` (a pool process); False if `worker` lost the job
        meanwhile (cancelled or taken over: do not run it)."""
        now = time.time()
        return self._update_owned(
            job_id, worker, "started_at = ?, heartbeat_at = ?, message = ?", [now, now, f"running on {executor}"]
        )

    def heartbeat(self, job_id: str, worker: str, progress: float | None = None, message: str | None = None) -> bool:
        """Refresh a running job's heartbeat (and progress 0..1); False if the worker no longer owns it."""
        sets = ["heartbeat_at = ?"]
        args: list[Any] = [time.time()]
        if progress is not None:
            sets.append("progress = ?")
            args.append(min(1.0, max(0.0, float(progress))))
        if message is not None:
            sets.append("message = ?")
            args.append(message)
        return self._update_owned(job_id, worker, ", ".join(sets), args)

    def save_summary(self, job_id: str, worker: str, summary: Mapping[str, Any]) -> bool:
        """Keep a running job's result summary (so a retry after a crash right after saving can reuse it)."""
        return self._update_owned(job_id, worker, "summary_json = ?", [json.dumps(summary, default=json_default)])

    def finish(
        self,
        job_id: str,
        worker: str,
        run_id: str | None,
        objective_name: str,
        objective: float | None,
        summary: Mapping[str, Any] | None = None,
        executor: str | None = None,
    ) -> bool:
        """running -> done with the saved run's id (None: a kind that saves no run) and the objective value;
        False if not owned any more."""
        sets = (
            "status = 'done', progress = 1, finished_at = ?, heartbeat_at = ?, run_id = ?, objective_name = ?, "
            "objective = ?, message = NULL"
        )
        now = time.time()
        args: list[Any] = [now, now, run_id, objective_name, _finite(objective)]
        if summary is not None:
            sets += ", summary_json = ?"
            args.append(json.dumps(summary, default=json_default))
        if executor:
            sets += ", worker = ?"
            args.append(executor)
        return self._update_owned(job_id, worker, sets, args)

    def fail(self, job_id: str, worker: str, error: str, traceback: str | None = None) -> bool:
        """running -> failed, keeping the error and traceback (the running note is cleared); False if the worker
        no longer owns it."""
        now = time.time()
        failed = self._update_owned(
            job_id,
            worker,
            "status = 'failed', finished_at = ?, heartbeat_at = ?, error = ?, traceback = ?, message = NULL",
            [now, now, error, traceback],
        )
        if failed:
            alert("batch_job_failed", f"Batch job {job_id} failed", error)
        return failed

    def release(self, job_id: str, worker: str, message: str) -> bool:
        """running -> queued (a worker shutting down cleanly gives its job back)."""
        return self._update_owned(job_id, worker, "status = 'queued', worker = NULL, message = ?", [message])

    def lost(self, job_id: str, worker: str, note: str) -> str:
        """The process computing `worker`'s job died (a pool process killed, a cluster worker gone): running ->
        queued while it has attempts left ("queued"), else failed with "worker lost: <note>" ("failed"); "" if
        the worker no longer owns it. The driver, still alive, says so at once instead of waiting to be stale."""
        with _Conn(self.path) as conn, transaction(conn):
            row = conn.execute(
                "SELECT attempts, max_attempts FROM jobs WHERE id = ? AND status = 'running' AND worker = ?",
                (job_id, worker),
            ).fetchone()
            if row is None:
                return ""
            status = self._give_back(conn, job_id, note, row[0], row[1], time.time())
        if status == "failed":
            alert("batch_job_failed", f"Batch job {job_id} failed", f"worker lost: {note}")
        return status

    def owns(self, job_id: str, worker: str) -> bool:
        """True while `worker` holds `job_id` running (False once cancelled or taken over)."""
        with _Conn(self.path) as conn:
            row = conn.execute(
                "SELECT 1 FROM jobs WHERE id = ? AND status = 'running' AND worker = ?", (job_id, worker)
            ).fetchone()
        return row is not None

    # --- a user's side ----------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> bool:
        """queued/running -> cancelled (a running job's worker stops at its next heartbeat); False if final."""
        return (
            self._set_where(
                "status = 'cancelled', finished_at = ?",
                [time.time()],
                "id = ? AND status IN ('queued', 'running')",
                [job_id],
            )
            > 0
        )

    def cancel_batch(self, batch_id: str) -> int:
        """Cancel every queued or running job of a batch; returns how many."""
        return self._set_where(
            "status = 'cancelled', finished_at = ?",
            [time.time()],
            "batch_id = ? AND status IN ('queued', 'running')",
            [batch_id],
        )

    def retry(self, job_id: str) -> bool:
        """failed/cancelled -> queued with its attempts reset; False if the job is not failed or cancelled."""
        return self._set_where(_RETRY, [], "id = ? AND status IN ('failed', 'cancelled')", [job_id]) > 0

    def retry_failed(self, batch_id: str | None = None) -> int:
        """Queue again every failed job (of one batch, or all); returns how many."""
        where, args = "status = 'failed'", []
        if batch_id:
            where, args = where + " AND batch_id = ?", [batch_id]
        return self._set_where(_RETRY, [], where, args)

    def requeue_stale(self) -> int:
        """Return lost jobs to the queue now (claim does it too); returns how many changed state."""
        with _Conn(self.path) as conn, transaction(conn):
            return self._requeue_stale(conn, time.time())

    # --- reading ----------------------------------------------------------------------------------------

    def jobs(self, batch_id: str | None = None, status: str | None = None) -> pd.DataFrame:
        """Jobs in submission order: JOB_COLUMNS plus `duration` (seconds from the start of its compute: to now
        while running, NaN while waiting) and `state` (the status, or "waiting" for a running job that no
        pool process has started yet)."""
        sql, args, where = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs", [], []
        if batch_id:
            where.append("batch_id = ?")
            args.append(batch_id)
        if status:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with _Conn(self.path) as conn:
            df = pd.DataFrame(
                conn.execute(sql + " ORDER BY created_at, seq", args).fetchall(), columns=list(JOB_COLUMNS)
            )
        end = df["finished_at"].where(df["status"].isin(FINAL), time.time())
        df["duration"] = (end - df["started_at"]).astype("float64")
        df["state"] = df["status"].where((df["status"] != "running") | df["started_at"].notna(), "waiting")
        return df

    def batches(self) -> pd.DataFrame:
        """Batches, newest first, with a count of jobs per status and the UTC submission time."""
        with _Conn(self.path) as conn:
            rows = conn.execute(
                "SELECT b.id, b.name, b.created_at, b.source, b.n_jobs, "
                + ", ".join(f"SUM(j.status = '{s}')" for s in STATUSES)
                + " FROM batches b LEFT JOIN jobs j ON j.batch_id = b.id GROUP BY b.id "
                "ORDER BY b.created_at DESC, b.rowid DESC"
            ).fetchall()
        df = pd.DataFrame(rows, columns=["id", "name", "created_at", "source", "n_jobs", *STATUSES])
        for s in STATUSES:
            df[s] = df[s].fillna(0).astype("int64")
        df["submitted"] = [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S") for t in df["created_at"]]
        return df

    def get(self, job_id: str) -> dict[str, Any]:
        """One job as a dict (JOB_COLUMNS plus `spec` and `summary`); JobNotFound for an unknown id."""
        with _Conn(self.path) as conn:
            cur = conn.execute(
                f"SELECT {', '.join(JOB_COLUMNS)}, spec_json, summary_json FROM jobs WHERE id = ?", (job_id,)
            )
            row = cur.fetchone()
        if row is None:
            raise JobNotFound(f"no job with id {job_id!r} in {self.path}")
        out = dict(zip([*JOB_COLUMNS, "spec_json", "summary_json"], row))
        out["spec"] = JobSpec.from_dict(json.loads(out.pop("spec_json")))
        summary = out.pop("summary_json")
        out["summary"] = json.loads(summary) if summary else None
        return out

    def summaries(self, batch_id: str) -> dict[str, dict[str, Any]]:
        """job id -> result summary (metrics of the saved run, best params, ...) of the batch's finished jobs."""
        with _Conn(self.path) as conn:
            rows = conn.execute(
                "SELECT id, summary_json FROM jobs WHERE batch_id = ? AND summary_json IS NOT NULL", (batch_id,)
            ).fetchall()
        return {r[0]: json.loads(r[1]) for r in rows}

    def counts(self, batch_id: str | None = None) -> dict[str, int]:
        """Number of jobs per status (every status present, zeros included)."""
        sql, args = "SELECT status, COUNT(*) FROM jobs", []
        if batch_id:
            sql, args = sql + " WHERE batch_id = ?", [batch_id]
        with _Conn(self.path) as conn:
            found = dict(conn.execute(sql + " GROUP BY status", args).fetchall())
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def batch_id(self, prefix: str) -> str:
        """The full id of a batch from its id or a unique prefix (>= 4 characters); JobNotFound otherwise."""
        with _Conn(self.path) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM batches WHERE id LIKE ?", (prefix.strip() + "%",))]
        if prefix.strip() in ids:
            return prefix.strip()
        if len(ids) == 1 and len(prefix.strip()) >= 4:
            return ids[0]
        raise JobNotFound(f"no batch with id {prefix!r}" + (f" (ambiguous: {', '.join(ids)})" if len(ids) > 1 else ""))

    # --- internals --------------------------------------------------------------------------------------

    def _requeue_stale(self, conn: Any, now: float) -> int:
        limit = now - self.stale_after
        lost = conn.execute(
            "SELECT id, worker, attempts, max_attempts FROM jobs WHERE status = 'running' AND heartbeat_at < ?",
            (limit,),
        ).fetchall()
        for job_id, worker, attempts, max_attempts in lost:
            self._give_back(conn, job_id, f"worker {worker} stopped sending heartbeats", attempts, max_attempts, now)
        return len(lost)

    @staticmethod
    def _give_back(conn: Any, job_id: str, note: str, attempts: int, max_attempts: int, now: float) -> str:
        """A running job whose worker is gone: queued again while attempts are left, else failed."""
        note = f"{note} (attempt {attempts} of {max_attempts})"
        if attempts < max_attempts:
            conn.execute(
                "UPDATE jobs SET status = 'queued', worker = NULL, message = ? WHERE id = ?",
                (note + "; queued again", job_id),
            )
            return "queued"
        conn.execute(
            "UPDATE jobs SET status = 'failed', finished_at = ?, error = ?, message = NULL WHERE id = ?",
            (now, f"worker lost: {note}; no attempts left", job_id),
        )
        return "failed"

    def _update_owned(self, job_id: str, worker: str, sets: str, args: list[Any]) -> bool:
        return self._set_where(sets, args, "id = ? AND status = 'running' AND worker = ?", [job_id, worker]) > 0

    def _set_where(self, sets: str, args: list[Any], where: str, where_args: list[Any]) -> int:
        with _Conn(self.path) as conn, transaction(conn):
            return conn.execute(f"UPDATE jobs SET {sets} WHERE {where}", [*args, *where_args]).rowcount


_RETRY = (
    "status = 'queued', attempts = 0, worker = NULL, progress = 0, started_at = NULL, heartbeat_at = NULL, "
    "finished_at = NULL, error = NULL, traceback = NULL, run_id = NULL, objective = NULL, summary_json = NULL, "
    "message = 'queued again by the user'"
)


class _Conn:
    """A connection for one queue operation. Not durable (engine.store.sqlite.connect): a power cut may roll back
    the last state changes, and a job whose end is lost so runs again; the lock is held 4x shorter per commit."""

    def __init__(self, path: Path) -> None:
        self.conn = connect(path, durable=False)

    def __enter__(self) -> Any:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

"""The SQLite job queue: state changes, atomic claims across processes, stale heartbeats, fencing, retries."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from tests.engine.batch_helpers import grid_batch


@pytest.fixture
def queue(home: Path) -> JobQueue:
    return JobQueue(stale_after=60)


def _batch(n: int = 3):
    return parse_batch(grid_batch(n), "grid.yaml")


def test_submit_claim_finish_in_order(queue: JobQueue) -> None:
    batch_id = queue.submit(_batch(3))
    jobs = queue.jobs(batch_id)
    assert list(jobs["name"]) == ["job00", "job01", "job02"]
    assert set(jobs["status"]) == {"queued"} and set(jobs["attempts"]) == {0}
    first = queue.claim("w1")
    assert first.spec.name == "job00" and first.attempt == 1 and first.batch_id == batch_id
    row = queue.get(first.id)
    assert (row["status"], row["worker"], row["attempts"]) == ("running", "w1", 1)
    assert queue.heartbeat(first.id, "w1", progress=0.5, message="half way")
    assert queue.get(first.id)["progress"] == 0.5
    assert not queue.heartbeat(first.id, "someone-else")  # only the owner
    assert queue.finish(first.id, "w1", "run123", "sharpe", 1.25, {"metrics": {"sharpe": 1.25}})
    row = queue.get(first.id)
    assert (row["status"], row["run_id"], row["objective"], row["progress"]) == ("done", "run123", 1.25, 1.0)
    assert row["summary"] == {"metrics": {"sharpe": 1.25}}
    assert not queue.finish(first.id, "w1", "run456", "sharpe", 2.0)  # done is final
    assert queue.get(first.id)["run_id"] == "run123"
    second = queue.claim("w2")
    assert second.spec.name == "job01"
    assert queue.fail(second.id, "w2", "ValueError: bad", "Traceback ...\nValueError: bad")
    row = queue.get(second.id)
    assert (row["status"], row["error"]) == ("failed", "ValueError: bad") and "Traceback" in row["traceback"]
    assert queue.counts(batch_id) == {"queued": 1, "running": 0, "done": 1, "failed": 1, "cancelled": 0}
    durations = queue.jobs(batch_id).set_index("name")["duration"]
    assert durations["job00"] >= 0 and durations.isna()["job02"]


def test_cancel_fences_the_worker_and_retry_requeues(queue: JobQueue) -> None:
    batch_id = queue.submit(_batch(2))
    job = queue.claim("w1")
    assert queue.cancel(job.id)
    assert not queue.heartbeat(job.id, "w1")  # the worker learns it lost the job
    assert not queue.finish(job.id, "w1", "r", "sharpe", 1.0)
    assert queue.get(job.id)["status"] == "cancelled"
    other = queue.jobs(batch_id)["id"][1]
    assert queue.cancel(other) and not queue.cancel(other)
    assert queue.claim("w1") is None
    assert queue.retry(job.id)
    row = queue.get(job.id)
    assert (row["status"], row["attempts"], row["worker"]) == ("queued", 0, None)
    assert queue.claim("w2").id == job.id
    assert queue.retry_failed(batch_id) == 0


def test_stale_jobs_return_to_the_queue_until_attempts_run_out(home: Path) -> None:
    queue = JobQueue(stale_after=0.3)
    batch_id = queue.submit(_batch(1), max_attempts=2)
    a = queue.claim("dead-1")
    time.sleep(0.45)  # no heartbeat: dead-1 is presumed lost
    assert queue.requeue_stale() == 1
    row = queue.get(a.id)
    assert row["status"] == "queued" and "dead-1 stopped sending heartbeats (attempt 1 of 2)" in row["message"]
    b = queue.claim("alive-2")
    assert b is not None and b.id == a.id and b.attempt == 2
    assert not queue.finish(a.id, "dead-1", "late", "sharpe", 1.0)  # the old worker can no longer finish it
    time.sleep(0.45)
    assert queue.claim("alive-3") is None  # 2 attempts used: no third try
    row = queue.get(a.id)
    assert row["status"] == "failed" and row["error"].startswith("worker lost") and "alive-2" in row["error"]
    assert queue.counts(batch_id)["failed"] == 1


def test_heartbeats_keep_a_long_job(home: Path) -> None:
    queue = JobQueue(stale_after=0.3)
    queue.submit(_batch(1))
    job = queue.claim("w1")
    for _ in range(4):
        time.sleep(0.15)
        assert queue.heartbeat(job.id, "w1")
        assert queue.claim("w2") is None  # never stale while heartbeats arrive
    assert queue.get(job.id)["worker"] == "w1"


def _claim_all(db: str, worker: str, out) -> None:
    q = JobQueue(db, stale_after=3600)
    got = []
    while (job := q.claim(worker)) is not None:
        got.append(job.id)
        q.finish(job.id, worker, f"run-{job.id}", "sharpe", 0.0)
    out.put((worker, got))


def test_claims_are_atomic_across_processes(queue: JobQueue) -> None:
    batch_id = queue.submit(_batch(40))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(str(queue.path), f"p{i}", out)) for i in range(3)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    claimed = [j for ids in results.values() for j in ids]
    assert len(claimed) == 40 and len(set(claimed)) == 40  # every job once, none twice
    assert sorted(claimed) == sorted(queue.jobs(batch_id)["id"])
    assert queue.counts(batch_id)["done"] == 40
    with sqlite3.connect(queue.path) as conn:  # each job's run id names the job it finished
        rows = conn.execute("SELECT id, run_id, attempts FROM jobs").fetchall()
    assert all(run == f"run-{job}" and attempts == 1 for job, run, attempts in rows)


def test_batches_listing_counts(queue: JobQueue) -> None:
    first = queue.submit(_batch(2))
    second = queue.submit(_batch(3))
    job = queue.claim("w", batch_id=second)
    queue.fail(job.id, "w", "boom")
    listing = queue.batches().set_index("id")
    assert list(listing.index) == [second, first]  # newest first
    assert listing.loc[second, ["n_jobs", "queued", "failed"]].tolist() == [3, 2, 1]
    assert listing.loc[first, ["n_jobs", "queued", "done"]].tolist() == [2, 2, 0]
    assert queue.batch_id(second[:6]) == second


DIRECTIONS = """
defaults: {start: 2019-01-01}
jobs:
  - {name: default-sharpe, strategy: sma_cross, symbols: [SPY]}
  - {name: turnover, strategy: sma_cross, symbols: [SPY], objective: turnover}
  - {name: job-minimizes, strategy: sma_cross, symbols: [SPY], maximize: false}
  - {name: search-minimizes, kind: optimize, strategy: sma_cross, symbols: [SPY],
     optimize: {ranges: {fast: [5, 10]}, maximize: false}}
  - {name: turnover-maximized, strategy: sma_cross, symbols: [SPY], objective: turnover, maximize: true}
"""


def test_each_job_stores_its_objective_direction(queue: JobQueue) -> None:
    batch = parse_batch(DIRECTIONS, "directions.yaml")
    assert [j.higher_is_better() for j in batch.jobs] == [True, False, False, False, True]
    batch_id = queue.submit(batch)
    jobs = queue.jobs(batch_id)
    assert dict(zip(jobs["name"], jobs["maximize"])) == {
        "default-sharpe": 1,
        "turnover": 0,
        "job-minimizes": 0,
        "search-minimizes": 0,
        "turnover-maximized": 1,
    }
    assert queue.get(jobs["id"][2])["spec"].maximize is False  # kept in the spec too


def test_a_version_1_database_gets_the_direction_from_each_spec(tmp_path: Path) -> None:
    from engine.batch.queue import JOBS_MIGRATIONS
    from engine.store.sqlite import connect, ensure_schema

    path = tmp_path / "old.db"
    conn = connect(path)
    ensure_schema(conn, "jobs", JOBS_MIGRATIONS[:1])  # a database written before the maximize column
    specs = [j.to_dict() for j in parse_batch(DIRECTIONS, "directions.yaml", check_symbols=False).jobs]
    del specs[2]["maximize"]  # old specs had no job-level maximize
    with conn:
        conn.execute("INSERT INTO batches (id, name, created_at, n_jobs) VALUES ('b1', 'old', 0, 5)")
        conn.executemany(
            "INSERT INTO jobs (id, batch_id, seq, name, kind, strategy, symbols, spec_json, status, "
            "max_attempts, created_at) VALUES (?, 'b1', ?, ?, 'backtest', 'sma_cross', 'SPY', ?, "
            "'done', 3, 0)",
            [(f"j{i}", i, s["name"], json.dumps(s)) for i, s in enumerate(specs)],
        )
    conn.close()
    jobs = JobQueue(path).jobs("b1")
    assert list(jobs["maximize"]) == [1, 0, 1, 0, 1]  # job-minimizes lost its (new) field: sharpe maximizes


def test_claim_writes_the_note_in_its_own_transaction(queue: JobQueue) -> None:
    queue.submit(_batch(2))
    waiting = queue.claim("driver", started=False, message="waiting for a free local worker")
    running = queue.claim("driver", started=True, message="running on the dask runner")
    rows = queue.jobs().set_index("id")
    assert (rows.loc[waiting.id, "state"], rows.loc[waiting.id, "message"]) == (
        "waiting",
        "waiting for a free local worker",
    )
    assert (rows.loc[running.id, "state"], rows.loc[running.id, "message"]) == ("running", "running on the dask runner")
    assert queue.claim("driver") is None


def test_fail_clears_the_running_note(queue: JobQueue) -> None:
    queue.submit(_batch(1))
    job = queue.claim("driver", started=False)
    assert queue.heartbeat(job.id, "driver", 0.0, "waiting for a free local worker")
    assert queue.jobs()["state"].tolist() == ["waiting"] and queue.jobs()["duration"].isna().all()
    assert queue.start(job.id, "driver", "host:123")
    assert queue.get(job.id)["message"] == "running on host:123" and queue.jobs()["state"].tolist() == ["running"]
    assert not queue.start(job.id, "someone-else", "host:456")  # fenced like every change of a running job
    assert queue.fail(job.id, "driver", "ValueError: bad")
    row = queue.get(job.id)
    assert (row["status"], row["error"], row["message"]) == ("failed", "ValueError: bad", None)

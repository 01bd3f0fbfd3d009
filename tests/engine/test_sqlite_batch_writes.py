"""How batch work writes the workspace database (issue 19 item 3): the queue and the runs a batch job saves commit
without a flush (synchronous=NORMAL), everything else flushes every commit (FULL), and a driver keeps one idle
connection open so SQLite does not checkpoint and delete the WAL after every queue update. Read back from SQLite
itself (PRAGMA synchronous, the -wal file on disk)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

from engine.batch.jobs import results_store
from engine.batch.queue import JobQueue
from engine.store.runs import RunStore
from engine.store.sqlite import connect, kept_open, transaction

FULL, NORMAL = 2, 1  # SQLite's PRAGMA synchronous values


def synchronous(conn) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


def test_only_batch_writes_skip_the_flush(tmp_path: Path) -> None:
    db = tmp_path / "ivybt.db"
    with closing(connect(db)) as conn:
        assert synchronous(conn) == FULL
    with closing(connect(db, durable=False)) as conn:
        assert synchronous(conn) == NORMAL
    with RunStore(db)._connect() as conn:  # the app's and the CLI's saves
        assert synchronous(conn) == FULL
    with results_store(db)._connect() as conn:  # a batch job's save
        assert synchronous(conn) == NORMAL


def test_a_job_state_committed_without_a_flush_survives_a_killed_process(tmp_path: Path) -> None:
    """synchronous=NORMAL gives up durability against a power cut only: a process killed (SIGKILL) right after
    its commit returned leaves the commit in the WAL, and the next reader sees it."""
    db = tmp_path / "ivybt.db"
    JobQueue(db)  # the schema
    code = textwrap.dedent(
        f"""
        import os, signal
        from engine.batch.queue import _Conn
        from engine.store.sqlite import transaction
        with _Conn({str(db)!r}) as conn:
            with transaction(conn):
                conn.execute("INSERT INTO batches (id, name, created_at, n_jobs) VALUES ('b1', 'kept', 0, 0)")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    with closing(connect(db)) as conn:
        assert conn.execute("SELECT name FROM batches WHERE id = 'b1'").fetchone() == ("kept",)


def test_kept_open_keeps_the_wal_between_operations(tmp_path: Path) -> None:
    db = tmp_path / "ivybt.db"
    wal = Path(f"{db}-wal")

    def one_write(value: int) -> None:
        with closing(connect(db, durable=False)) as conn, transaction(conn):
            conn.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
            conn.execute("INSERT INTO t VALUES (?)", (value,))

    one_write(1)
    assert not wal.exists()  # the last connection closed: SQLite checkpointed and deleted the WAL
    with kept_open(db):
        one_write(2)
        assert wal.exists()  # not the last connection: no checkpoint, the WAL stays for the next operation
        with closing(connect(db)) as conn:
            assert [v for (v,) in conn.execute("SELECT v FROM t ORDER BY v")] == [1, 2]
    assert not wal.exists()

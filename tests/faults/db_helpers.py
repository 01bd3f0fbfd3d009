"""Real processes and real SQLite files for the database fault tests: a workspace with saved runs, a process
that holds the database's lock, the `ivybt` console script run with a short busy timeout or a file-size limit."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IVYBT = Path(sys.executable).parent / "ivybt"
BACKTEST = ["backtest", "--strategy", "sma_cross", "--symbols", "SPY", "--param", "fast=10", "--param", "slow=50"]
TRACEBACK = "Traceback (most recent call last)"


def run_ivybt(
    *args: str, home: Path, env: dict[str, str] | None = None, max_file_bytes: int | None = None
) -> subprocess.CompletedProcess:
    """`ivybt ARGS` in a child process with IVYBT_HOME = home; max_file_bytes: RLIMIT_FSIZE in the child (a write
    past it fails with EFBIG, as on a full disk; SIGXFSZ is ignored so the write returns an error)."""
    full = {**os.environ, "IVYBT_HOME": str(home), **(env or {})}
    full.pop("IVYBT_PRESETS", None)

    def limit() -> None:
        if max_file_bytes is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=full, timeout=300, preexec_fn=limit)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single `ivybt: error: ...` line of a failed command (asserts there is exactly one stderr line)."""
    assert TRACEBACK not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ivybt: error: "), lines[0]
    return lines[0]


def saved_runs(home: Path, n: int = 1) -> list[str]:
    """Save n backtests in the workspace through the CLI; their run ids."""
    ids = []
    for i in range(n):
        proc = run_ivybt(*BACKTEST, "--save", "--name", f"run{i}", "--json", home=home)
        assert proc.returncode == 0, proc.stderr
        ids.append(__import__("json").loads(proc.stdout)["run_id"])
    return ids


def run_rows(db: Path) -> list[tuple]:
    """The runs table's (id, name) rows, read with plain sqlite3."""
    conn = sqlite3.connect(db)
    try:
        return sorted(conn.execute("SELECT id, name FROM runs").fetchall())
    finally:
        conn.close()


def quick_check(db: Path) -> str:
    """SQLite's own quick check of db, read-only ("ok", the problems, or the error reading it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA quick_check").fetchall())
    except sqlite3.DatabaseError as e:
        return str(e)
    finally:
        conn.close()


@contextmanager
def lock_held(db: Path, exclusive_mode: bool) -> Iterator[subprocess.Popen]:
    """Another process holds `BEGIN EXCLUSIVE` on db (with `locking_mode=EXCLUSIVE`: readers are shut out too)
    until the block ends."""
    code = textwrap.dedent(
        f"""
        import sqlite3, sys
        conn = sqlite3.connect({str(db)!r}, isolation_level=None)
        if {exclusive_mode!r}:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("CREATE TABLE IF NOT EXISTS lock_probe (x)")
        print("locked", flush=True)
        sys.stdin.read()  # hold until the test closes our stdin
        conn.execute("ROLLBACK")
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)

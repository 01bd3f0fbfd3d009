"""Shared pieces of the runner fault tests (a killed pool process, a killed driver, a killed Dask worker): a batch
of slow, distinct jobs, the process that runs each job (from the queue), a process's descendants (from /proc),
and the saved runs per job."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from engine.batch.queue import JobQueue
from engine.store.runs import RunStore
from tests.faults.user_code_helpers import alive, env_for, wait_for

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ("SPY", "QQQ", "GLD")


def slow_batch(n: int, seconds: float, name: str = "slow") -> str:
    """YAML of `n` slow_hold jobs (tests.engine.batch_helpers' strategy: sleeps `seconds`, then holds) whose
    numbers differ (symbol and start year vary), so a job's metrics show which job they belong to."""
    lines = [f"name: {name}", "jobs:"]
    for i in range(n):
        lines.append(
            f"  - {{name: job{i}, strategy: slow_hold, symbols: [{SYMBOLS[i % 3]}], start: {2016 + i}-01-01, "
            f"params: {{seconds: {seconds}}}}}"
        )
    return "\n".join(lines) + "\n"


def executor_pids(queue: JobQueue, batch_id: str) -> dict[str, int]:
    """job id -> pid of the process computing it, for the running jobs a process has started ("running on
    host:pid", the message `JobQueue.start` writes)."""
    jobs = queue.jobs(batch_id, status="running")
    out = {}
    for job_id, message in zip(jobs["id"], jobs["message"]):
        found = re.fullmatch(r"running on .+:(\d+)", str(message or ""))
        if found:
            out[str(job_id)] = int(found.group(1))
    return out


def freeze_one_at_work(queue: JobQueue, batch_id: str) -> tuple[int, str]:
    """SIGSTOP a process that computes a job of the batch; (its pid, that job's id). Frozen, it can neither finish
    the job nor take another, so which job it holds is known before it is killed."""
    found: list[tuple[int, str]] = []

    def freeze() -> bool:
        for pid in set(executor_pids(queue, batch_id).values()):
            os.kill(pid, signal.SIGSTOP)
            holds = [job for job, p in executor_pids(queue, batch_id).items() if p == pid]
            if len(holds) == 1:
                found.append((pid, holds[0]))
                return True
            os.kill(pid, signal.SIGCONT)  # it was between two jobs: let it go on
        return False

    wait_for(freeze, "a process computing a job to freeze")
    return found[0]


def children(pid: int) -> set[int]:
    """The live processes whose parent is `pid` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(stat.parent.name))
    return out


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, their children, ...)."""
    found, todo = set(), [pid]
    while todo:
        for child in children(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def kill_all(pids: set[int]) -> None:
    """SIGKILL every process of `pids` that is still alive (a test's clean-up)."""
    for pid in pids:
        if alive(pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def ivybt(home: Path, *args: str, **env: str) -> subprocess.Popen:
    """`python -m engine.cli ARGS` in a real process with IVYBT_HOME = home."""
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *args],
        env=env_for(home, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def runs_per_job(queue: JobQueue, batch_id: str) -> dict[str, int]:
    """job id -> how many saved runs carry its name (exactly one each when nothing ran twice)."""
    with sqlite3.connect(queue.path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM runs")]
    return {job_id: sum(n.endswith(f"[job {job_id}]") for n in names) for job_id in queue.jobs(batch_id)["id"]}


def metrics_by_name(queue: JobQueue, batch_id: str) -> dict[str, dict[str, float]]:
    """job name -> metrics of its saved run (every job must be done)."""
    store = RunStore(queue.path)
    jobs = queue.jobs(batch_id)
    assert set(jobs["status"]) == {"done"}, jobs[["name", "status", "attempts", "error", "message"]]
    return {row.name: store.load(row.run_id).result.metrics for row in jobs.itertuples()}

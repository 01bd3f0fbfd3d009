"""The Scheduler page's "Start a background worker" (issue 16 item 11): when the worker ends, the app reaps it, so
no zombie child of the app process is left behind (before, it stayed `<defunct>` until the next subprocess call)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from tests.pages.page_helpers import assert_clean, page

BATCH = """\
name: nothing-to-do
jobs:
  - {name: hold, strategy: buy_and_hold, symbols: [SPY]}
"""


def _state(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of process `pid` from /proc, None once it is gone (reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1])


def test_the_worker_started_from_the_page_is_reaped_when_it_ends(workspace: Path) -> None:
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(BATCH, "nothing.yaml"))
    queue.cancel_batch(batch_id)  # the queue is empty: the worker (--exit-when-empty) ends right away
    at = page("scheduler")
    at.run()
    at.button(key="sched_start_worker").click().run()
    assert_clean(at)
    (pid,) = [int(m) for t in at.toast for m in re.findall(r"pid (\d+)", t.value)]
    state = _state(pid)
    assert state is None or state[1] == os.getpid(), f"pid {pid} is not a child of this process: {state}"

    deadline = time.monotonic() + 120  # a generous bound on the worker's start-up and exit, not a timing check
    while (state := _state(pid)) is not None and state[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state is None or state[0] == "Z", f"the worker {pid} did not end: {state}"
    settle = time.monotonic() + 10  # the reaping thread wakes as soon as the child exits
    while (state := _state(pid)) is not None and time.monotonic() < settle:
        time.sleep(0.1)
    assert state is None, f"the ended worker {pid} is still a zombie child of the app: {state}"

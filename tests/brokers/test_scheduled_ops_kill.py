"""A real `ivybt worker` process killed with SIGKILL in the middle of a scheduled daily run, after its orders
went out to the paper broker and before the job was marked done; a restarted worker finishes the job once and
sends no order twice.

The kill point is made deterministic with the execution's webhook: the first worker posts the result to a local
receiver (IVYBT_WEBHOOK_URL) that never answers, and is killed while it waits there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from brokers.scheduled_ops import enqueue_due
from engine.batch.queue import JobQueue
from engine.ops.schedule import ScheduleStore
from tests.brokers.schedule_helpers import SYMBOLS, expected_positions, paper, save_hold_preset

NOW = datetime(2024, 3, 13, 14, 0, tzinfo=UTC)
HEARTBEAT, STALE = 0.2, 1.5
ROOT = Path(__file__).resolve().parents[2]


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that holds the execution's result post (never answering it) until `release`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Hook)
        self.holding = threading.Event()
        self.release = threading.Event()


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if "IvyBT hold2: complete" in body:
            self.server.holding.set()
            self.server.release.wait(60)
            return
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def _worker(home: Path, presets: Path, batch: str, webhook: str | None) -> subprocess.Popen:
    env = {**os.environ, "IVYBT_HOME": str(home), "IVYBT_PRESETS": str(presets)}
    env.pop("IVYBT_WEBHOOK_URL", None)
    if webhook:
        env["IVYBT_WEBHOOK_URL"] = webhook
    args = ["--batch", batch, "--exit-when-empty", "--poll", "0.2", "--heartbeat", str(HEARTBEAT)]
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "worker", *args, "--stale-after", str(STALE)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _wait(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_worker_killed_after_sending_is_replaced_and_nothing_is_sent_twice(home: Path, presets: Path) -> None:
    save_hold_preset()
    schedule = ScheduleStore().add("hold2", "paper", "09:35", "America/New_York", mode="auto")
    queue = JobQueue(stale_after=STALE)
    (job_id,) = enqueue_due(queue, NOW)

    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    first = _worker(home, presets, job_id, f"http://127.0.0.1:{receiver.server_address[1]}/hook")
    try:
        _wait(receiver.holding.is_set, 120, "the first worker to post its execution result")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
    finally:
        receiver.release.set()
        if first.poll() is None:
            first.kill()
            first.wait()
        receiver.shutdown()
        receiver.server_close()
    row = queue.get(job_id)
    assert (row["status"], row["attempts"], row["summary"]["stage"]) == ("running", 1, "executing")
    assert len(paper().orders("all")) == 2  # the orders went out before the kill

    _wait(lambda: time.time() - queue.get(job_id)["heartbeat_at"] > STALE, 30, "the dead worker's job to go stale")
    second = _worker(home, presets, job_id, None)
    try:
        out, err = second.communicate(timeout=180)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    assert second.returncode == 0, err

    row = queue.get(job_id)
    assert (row["status"], row["attempts"]) == ("done", 2)
    assert row["summary"]["status"] == "executed" and row["summary"]["sent"] == 0
    orders = paper().orders("all")
    assert sorted(o.client_order_id.rsplit("-", 1)[1] for o in orders) == sorted(SYMBOLS)  # one order per symbol
    assert {p.symbol: p.quantity for p in paper().positions()} == pytest.approx(expected_positions(), abs=2e-6)
    assert ScheduleStore().get(schedule.id).last_status == "executed"

"""The look-ahead audit cannot be fooled by a strategy that reads the prices itself: reading a file (at run time or
when its file is imported) or the network makes it "not verifiable", exit 1 (issue 15, item 3)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.data import SAMPLE_DIR
from tests.faults.user_code_helpers import HOLD, NETWORK, READS_AT_IMPORT, READS_CSV, run_ivybt, write_strategies


def test_audit_flags_strategy_reading_csv(home: Path) -> None:
    write_strategies(home, READS_CSV, HOLD)
    proc = run_ivybt("audit", "reads_csv", "--symbols", "SPY", "QQQ", "--checks", "5", home=home)
    assert proc.returncode == 1, proc.stderr
    csv = (SAMPLE_DIR / "SPY.csv").resolve()
    assert proc.stdout.splitlines() == [f"reads_csv: NOT VERIFIABLE - reads data outside the engine: {csv}"]

    report = json.loads(
        run_ivybt("audit", "reads_csv", "--symbols", "SPY", "--checks", "5", "--json", home=home).stdout
    )
    assert report["passed"] is False and report["reads_outside"] == [str(csv)]

    clean = run_ivybt("audit", "half_hold", "--symbols", "SPY", "QQQ", "--checks", "5", "--json", home=home)
    assert clean.returncode == 0, clean.stderr
    out = json.loads(clean.stdout)
    assert out["passed"] is True and out["reads_outside"] == [] and out["first_mismatch"] is None


def test_audit_flags_strategy_reading_csv_when_its_file_is_imported(home: Path) -> None:
    write_strategies(home, READS_AT_IMPORT)
    proc = run_ivybt("audit", "reads_at_import", "--symbols", "QQQ", "--checks", "5", home=home)
    assert proc.returncode == 1
    csv = (SAMPLE_DIR / "QQQ.csv").resolve()
    assert proc.stdout.splitlines() == [f"reads_at_import: NOT VERIFIABLE - reads data outside the engine: {csv}"]


@pytest.fixture
def number_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers every connection with "1" (a stand-in for a price API)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"1")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    done.set()
    thread.join(5)
    server.close()


def test_audit_flags_strategy_reading_the_network(home: Path, number_server: int) -> None:
    write_strategies(home, NETWORK)
    proc = run_ivybt(
        "audit", "asks_server", "--symbols", "SPY", "--checks", "3", "--param", f"port={number_server}", home=home
    )
    assert proc.returncode == 1, proc.stderr
    line = f"asks_server: NOT VERIFIABLE - reads data outside the engine: network ('127.0.0.1', {number_server})"
    assert proc.stdout.splitlines()[0].startswith(line)

"""`ivybt batch ...` and `ivybt worker` through the console entry point: one-line errors naming file, line and
field; submit + worker + status; run on the local pool."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.batch.queue import JobQueue
from engine.cli import main
from engine.store.runs import RunStore
from tests.engine.batch_helpers import grid_batch, make_workspace


@pytest.fixture
def home(home: Path) -> Path:
    return make_workspace(home)


def test_validate_reports_one_line_with_file_line_field(home: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("jobs:\n  - strategy: sma_cross\n    symbols: [SPY]\n    config: {fill: soon}\n")
    assert main(["batch", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ivybt: error: ")
    assert f"{bad}, line 4, field jobs[0].config.fill:" in err
    good = tmp_path / "good.yaml"
    good.write_text(grid_batch(3))
    assert main(["batch", "validate", str(good), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [j["name"] for j in out["jobs"]] == ["job00", "job01", "job02"]


def test_submit_worker_status(home: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(grid_batch(2) + "  - {name: bad, strategy: explodes, symbols: [SPY]}\n")
    assert main(["batch", "submit", str(path), "--json"]) == 0
    batch_id = json.loads(capsys.readouterr().out)["batch_id"]
    assert main(["worker", "--once"]) == 0  # one job, then exit
    assert JobQueue().counts(batch_id) == {"queued": 2, "running": 0, "done": 1, "failed": 0, "cancelled": 0}
    assert main(["worker", "--exit-when-empty", "--poll", "0.1"]) == 0
    capsys.readouterr()
    assert main(["batch", "status", "--batch", batch_id[:6], "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"] == {"queued": 0, "running": 0, "done": 2, "failed": 1, "cancelled": 0}
    bad = next(j for j in status["jobs"] if j["name"] == "bad")
    assert bad["error"].startswith("StrategyError: strategy 'explodes' (")  # names the user file and line
    assert bad["error"].endswith("failed in target_weights: RuntimeError: boom: this strategy always fails")
    assert main(["batch", "retry", "--batch", batch_id]) == 0
    assert JobQueue().counts(batch_id)["queued"] == 1
    assert main(["batch", "cancel", "--batch", batch_id]) == 0
    assert JobQueue().counts(batch_id)["cancelled"] == 1
    assert main(["batch", "status"]) == 0
    assert batch_id in capsys.readouterr().out


def test_run_on_the_local_pool(home: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(grid_batch(4))
    assert main(["batch", "run", str(path), "--workers", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["done"] == 4
    store = RunStore()
    for job in out["jobs"]:
        assert store.load(job["run_id"]).result.metrics["sharpe"] == job["objective"]
    assert main(["batch", "run", str(path), "--runner", "local", "--address", "tcp://127.0.0.1:1"]) == 2


def test_run_warms_every_worker_with_the_batchs_needs_before_the_jobs(
    home: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from engine.batch import parse_batch
    from engine.batch.runners import LocalRunner
    from engine.batch.warm import needs_of

    path = tmp_path / "b.yaml"
    path.write_text(grid_batch(3))
    seen: list[tuple[tuple[str, ...], dict[str, int]]] = []
    real = LocalRunner.warm_up

    def spy(self: LocalRunner, specs=()) -> None:
        specs = list(specs)
        seen.append((needs_of(specs), JobQueue().counts()))
        real(self, specs)

    monkeypatch.setattr(LocalRunner, "warm_up", spy)
    assert main(["batch", "run", str(path), "--workers", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["done"] == 3
    expected = needs_of(parse_batch(grid_batch(3), "b.yaml").jobs)
    assert len(seen) == 1 and seen[0][0] == expected and expected  # the batch's strategies, warmed once
    assert seen[0][1]["queued"] == 3 and seen[0][1]["done"] == 0  # before any job ran


def _table_rows(text: str) -> dict[str, list[str]]:
    """Rows of the CLI's job table (whitespace-separated cells) keyed by job name."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("job ") and "error / note" in line)
    rows = {}
    for line in lines[head + 2 :]:
        if line.strip():
            cells = line.split()
            rows[cells[1]] = cells
    return rows


def test_text_output_of_run_and_status_with_a_failed_job(home: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(grid_batch(1) + "  - {name: bad, strategy: explodes, symbols: [SPY]}\n")
    assert main(["batch", "run", str(path), "--workers", "1"]) == 1  # a failed job: exit code 1
    out = capsys.readouterr().out
    assert "1 done, 1 failed" in out
    rows = _table_rows(out)
    assert rows["bad"][3] == "failed" and "StrategyError: strategy 'explodes' (" in " ".join(rows["bad"])  # cut to fit
    assert "nan" not in " ".join(rows["bad"]).lower()
    queue = JobQueue()
    batch_id = queue.batches()["id"].iloc[0]
    done = queue.jobs(batch_id).set_index("name").loc["job00"]
    assert rows["job00"][3] == "done" and rows["job00"][7] == done["run_id"]
    assert rows["job00"][8:10] == ["sharpe", f"{done['objective']:.4f}"]
    assert main(["batch", "status", "--batch", batch_id]) == 0
    assert _table_rows(capsys.readouterr().out) == rows


def _nothing_queued() -> None:
    queue = JobQueue()
    assert queue.batches().empty and queue.jobs().empty  # no orphan batch a later worker would run


def test_a_runner_that_cannot_start_queues_nothing(home: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(grid_batch(2))
    assert main(["batch", "run", str(path), "--runner", "local", "--address", "tcp://127.0.0.1:8786"]) == 2
    assert "runner local: --address is for the dask runner" in capsys.readouterr().err
    assert main(["batch", "run", str(path), "--workers", "0"]) == 2
    assert "workers must be >= 1, got 0" in capsys.readouterr().err
    _nothing_queued()
    assert main(["worker", "--exit-when-empty"]) == 0
    assert "worker exiting after 0 job(s)" in capsys.readouterr().out


def test_an_unreachable_dask_scheduler_queues_nothing(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(grid_batch(2))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound but never listening: nobody answers on this port
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
        began = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "engine.cli",
                "batch",
                "run",
                str(path),
                "--runner",
                "dask",
                "--address",
                address,
                "--timeout",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "IVYBT_HOME": str(home)},
            cwd=Path(__file__).resolve().parents[2],
        )
        elapsed = time.monotonic() - began
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"ivybt: error: dask runner: no scheduler reachable at {address!r} within 1s")
    assert proc.stderr.count("\n") == 1 and elapsed < 25  # the 1 s timeout, not the default 30 s
    _nothing_queued()

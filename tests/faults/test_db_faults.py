"""Database faults as one line (issue 15 item 4): a lock held by another process, a corrupted ivybt.db and a
full disk, each through the real `ivybt` console script on a real workspace database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.faults.db_helpers import (
    BACKTEST,
    TRACEBACK,
    lock_held,
    one_error_line,
    quick_check,
    run_ivybt,
    run_rows,
    saved_runs,
)

SHORT = {"IVYBT_DB_TIMEOUT": "1"}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace holding two saved runs (IVYBT_HOME)."""
    home = tmp_path / "ws"
    saved_runs(home, 2)
    return home


def corrupt(db: Path) -> bytes:
    """Overwrite 3 pages in the middle of db with garbage (as a bad disk or a half-copied file would); the bytes now."""
    data = bytearray(db.read_bytes())
    page = 4096
    mid = (len(data) // page // 2) * page
    data[mid : mid + 3 * page] = bytes((i * 37 + 11) % 251 for i in range(3 * page))
    db.write_bytes(bytes(data))
    return bytes(data)


def test_db_locked_by_another_process_runs_list_one_line_exit_2(ws: Path) -> None:
    db = ws / "ivybt.db"
    with lock_held(db, exclusive_mode=True):
        proc = run_ivybt("runs", "list", home=ws, env=SHORT)
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert str(db) in line
    assert "locked by another process" in line and "IVYBT_DB_TIMEOUT" in line
    assert "1 s" in line  # the wait it gave up after


def test_db_write_locked_by_another_process_save_one_line_exit_2(ws: Path) -> None:
    db = ws / "ivybt.db"
    before = run_rows(db)
    with lock_held(db, exclusive_mode=False):
        readable = run_ivybt("runs", "list", "--json", home=ws, env=SHORT)  # WAL: readers still read
        proc = run_ivybt(*BACKTEST, "--save", home=ws, env=SHORT)
    assert readable.returncode == 0, readable.stderr
    assert len(json.loads(readable.stdout)["runs"]) == 2
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert str(db) in line and "locked by another process" in line
    assert run_rows(db) == before
    after = run_ivybt(*BACKTEST, "--save", home=ws)  # the lock is gone: the same command works
    assert after.returncode == 0, after.stderr
    assert len(run_rows(db)) == 3


def test_db_timeout_setting_not_a_number_one_line(ws: Path) -> None:
    proc = run_ivybt("runs", "list", home=ws, env={"IVYBT_DB_TIMEOUT": "soon"})
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "IVYBT_DB_TIMEOUT" in line and "'soon'" in line


def test_db_corrupted_detected_at_open_file_never_overwritten(ws: Path) -> None:
    db = ws / "ivybt.db"
    assert quick_check(db) == "ok"
    damaged = corrupt(db)
    assert quick_check(db) != "ok"  # really damaged, as SQLite itself sees it
    for args in (["runs", "list"], [*BACKTEST, "--save"], ["workspace", "check"]):
        proc = run_ivybt(*args, home=ws)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        line = one_error_line(proc)
        assert str(db) in line, line
        assert "ivybt workspace check" in line or "damaged" in line
        assert "restore" in line
        assert db.read_bytes() == damaged  # never overwritten


def test_db_not_a_database_header_garbage_one_line(ws: Path) -> None:
    db = ws / "ivybt.db"
    data = bytearray(db.read_bytes())
    data[:100] = b"this is not an sqlite header".ljust(100, b"!")
    db.write_bytes(bytes(data))
    proc = run_ivybt("runs", "list", home=ws)
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert str(db) in line and "restore" in line
    assert db.read_bytes() == bytes(data)


def test_workspace_check_good_file_exit_0(ws: Path) -> None:
    proc = run_ivybt("workspace", "check", home=ws)
    assert proc.returncode == 0, proc.stderr
    assert str(ws / "ivybt.db") in proc.stdout and "ok" in proc.stdout
    assert "runs: 2" in proc.stdout


def test_workspace_backup_restore_round_trip(ws: Path, tmp_path: Path) -> None:
    db = ws / "ivybt.db"
    two = run_rows(db)
    target = tmp_path / "backups" / "two.db"
    proc = run_ivybt("workspace", "backup", str(target), home=ws)
    assert proc.returncode == 0, proc.stderr
    assert str(target) in proc.stdout
    assert run_rows(target) == two and quick_check(target) == "ok"
    again = run_ivybt("workspace", "backup", str(target), home=ws)  # never overwrites a file
    assert again.returncode == 2 and "exists" in one_error_line(again)

    saved_runs(ws, 1)
    three = run_rows(db)
    assert len(three) == 3
    refused = run_ivybt("workspace", "restore", str(target), home=ws)  # not confirmed: nothing changes
    assert refused.returncode != 0 and run_rows(db) == three
    proc = run_ivybt("workspace", "restore", str(target), "--yes", home=ws)
    assert proc.returncode == 0, proc.stderr
    assert run_rows(db) == two
    aside = sorted(ws.glob("ivybt.db.before-restore-*"))
    assert len(aside) == 1 and str(aside[0]) in proc.stdout
    assert run_rows(aside[0]) == three  # what was there is kept
    listed = run_ivybt("runs", "list", "--json", home=ws)
    assert sorted(r["id"] for r in json.loads(listed.stdout)["runs"]) == sorted(r[0] for r in two)
    shown = run_ivybt("runs", "show", two[0][0], "--json", home=ws)  # frames came back too
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == two[0][0]


def test_workspace_backup_default_path_in_workspace(ws: Path) -> None:
    proc = run_ivybt("workspace", "backup", home=ws)
    assert proc.returncode == 0, proc.stderr
    made = sorted((ws / "backups").glob("ivybt-*.db"))
    assert len(made) == 1 and str(made[0]) in proc.stdout
    assert run_rows(made[0]) == run_rows(ws / "ivybt.db")


def test_workspace_restore_over_corrupted_db_keeps_damaged_copy(ws: Path, tmp_path: Path) -> None:
    db = ws / "ivybt.db"
    good = run_rows(db)
    target = tmp_path / "good.db"
    assert run_ivybt("workspace", "backup", str(target), home=ws).returncode == 0
    damaged = corrupt(db)
    proc = run_ivybt("workspace", "restore", str(target), "--yes", home=ws)
    assert proc.returncode == 0, proc.stderr
    assert run_rows(db) == good and quick_check(db) == "ok"
    aside = sorted(ws.glob("ivybt.db.before-restore-*"))
    assert [p.read_bytes() for p in aside if not p.name.endswith(("-wal", "-shm"))] == [damaged]
    assert run_ivybt("workspace", "check", home=ws).returncode == 0


def test_workspace_restore_from_damaged_or_foreign_file_refused(ws: Path, tmp_path: Path) -> None:
    db = ws / "ivybt.db"
    before = db.read_bytes()
    bad = tmp_path / "bad.db"
    shutil.copy(db, bad)
    corrupt(bad)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello\n")
    for source in (bad, foreign, tmp_path / "missing.db"):
        proc = run_ivybt("workspace", "restore", str(source), "--yes", home=ws)
        assert proc.returncode == 2, proc.stderr
        assert str(source) in one_error_line(proc)
    assert not list(ws.glob("ivybt.db.before-restore-*"))
    assert run_rows(db) == run_rows_bytes(before, tmp_path)


def run_rows_bytes(data: bytes, tmp_path: Path) -> list[tuple]:
    copy = tmp_path / "copy.db"
    copy.write_bytes(data)
    return run_rows(copy)


def test_db_disk_full_write_loses_nothing_committed(ws: Path) -> None:
    db = ws / "ivybt.db"
    before = run_rows(db)
    # no file may grow past 64 KiB (the shared-memory index needs 32): the save's write-ahead log needs more
    proc = run_ivybt(*BACKTEST, "--save", home=ws, max_file_bytes=64 * 1024)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    line = one_error_line(proc)
    assert str(db) in line and TRACEBACK not in proc.stderr
    assert "full" in line
    assert run_rows(db) == before and quick_check(db) == "ok"
    again = run_ivybt(*BACKTEST, "--save", home=ws)  # room again: the same save works
    assert again.returncode == 0, again.stderr
    assert len(run_rows(db)) == len(before) + 1

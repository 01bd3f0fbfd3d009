"""A database fault on a page of the app is an error box naming the file, not a traceback (issue 15 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.db_helpers import lock_held, saved_runs
from tests.faults.test_db_faults import corrupt
from tests.pages.page_helpers import errors, page


@pytest.fixture
def ws(workspace: Path) -> Path:
    """The app's private workspace (IVYBT_HOME) holding one run saved by the CLI."""
    saved_runs(workspace, 1)
    return workspace


@pytest.fixture
def run_id(workspace: Path) -> str:
    """The app's private workspace (IVYBT_HOME) holding one run saved by the CLI; its id."""
    (saved,) = saved_runs(workspace, 1)
    return saved


@pytest.mark.parametrize("name", ["home", "runs", "backtest"])
def test_app_db_corrupted_page_shows_error_box(workspace: Path, run_id: str, name: str) -> None:
    db = workspace / "ivybt.db"
    damaged = corrupt(db)
    at = page(name)
    if name == "backtest":
        at.query_params["run"] = run_id  # the stored run the page is asked to open (issue 16 item 2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(errors(at))
    assert str(db) in shown and "damaged" in shown and "ivybt workspace restore" in shown
    assert db.read_bytes() == damaged


def test_app_db_locked_by_another_process_page_shows_error_box(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVYBT_DB_TIMEOUT", "1")
    db = ws / "ivybt.db"
    with lock_held(db, exclusive_mode=True):
        at = page("runs")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(errors(at))
    assert str(db) in shown and "locked by another process" in shown and "IVYBT_DB_TIMEOUT" in shown

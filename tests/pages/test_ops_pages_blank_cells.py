"""Scheduler and Daily Ops tables (issue 16 item 7): an empty cell shows a dash, never the word "None" (Streamlit's
default for a missing value), and statuses are plain words, never emoji (a plain Debian box has no emoji font)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.batch.queue import JobQueue
from engine.batch.worker import run_worker
from tests.engine.batch_helpers import make_workspace
from tests.pages.page_helpers import assert_clean, page
from tests.pages.test_daily_ops_page import ops_page, preset  # noqa: F401 - preset is a fixture
from tests.pages.test_scheduler_page import BATCH
from ui.tables import BLANK


def _no_pictographs(frame: pd.DataFrame) -> None:
    text = " ".join(str(v) for v in frame.astype(str).to_numpy().ravel())
    assert all(ord(ch) < 0x2300 for ch in text), sorted({ch for ch in text if ord(ch) >= 0x2300})


def _check_tables(at) -> None:
    assert BLANK in ("–", "—")
    assert at.dataframe, "no table drawn"
    for df in at.dataframe:
        assert df.proto.placeholder == BLANK, (list(df.value.columns), df.proto.placeholder)
        _no_pictographs(df.value)


def test_scheduler_tables(workspace: Path) -> None:
    make_workspace(workspace)
    at = page("scheduler")
    at.run()
    at.text_area(key="sched_yaml").set_value(BATCH).run()
    at.button(key="sched_queue").click().run()
    assert run_worker(queue=JobQueue(), exit_when_empty=True, heartbeat=0.2) == 3
    at.run()
    assert_clean(at)
    jobs = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert dict(zip(jobs["name"], jobs["status"])) == {"spy-sma": "done", "gld-hold": "done", "broken": "failed"}
    assert jobs.set_index("name")["objective"].isna()["broken"]  # a missing value: drawn as the placeholder
    _check_tables(at)


def test_daily_ops_tables(preset):  # noqa: F811 - the fixture
    at = ops_page()
    at.run()
    at.button(key="ops_generate").click().run()
    assert_clean(at)
    checks = next(df.value for df in at.dataframe if df.value.index.name == "check")
    assert set(checks["status"]) <= {"pass", "warn", "FAIL"}
    assert checks["limit"].isna().any()  # e.g. the kill switch has no limit: drawn as the placeholder
    _check_tables(at)

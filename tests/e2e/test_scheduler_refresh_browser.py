"""Scheduler page in a real browser (issue 16 item 1): while jobs run, every part that depends on their state
refreshes by itself: on the Queue tab the counts, the batch summary, the open-result choices, the cancel buttons
and the errors; on the Daily operations tab the schedules' last run and status. Once no job is queued or running
the page stops polling (the browser sends nothing more)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.batch import parse_batch
from engine.batch.queue import JobQueue
from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, ROOT, _idle, app_url  # noqa: F401 - fixture
from tests.engine.batch_helpers import make_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BATCH = """\
name: live
defaults: {start: 2018-01-01, end: 2021-12-31}
jobs:
  - {name: slow-spy, strategy: slow_hold, symbols: [SPY], params: {seconds: 2}}
  - {name: hold-gld, strategy: buy_and_hold, symbols: [GLD]}
  - {name: broken, strategy: explodes, symbols: [SPY]}
"""


def _assert_stopped_polling(page, sent: list) -> None:
    """Nothing runs: once the app has settled (one rerun drops the fragments' timers), the browser sends nothing
    during several poll intervals."""
    _idle(page)
    page.wait_for_timeout(3000)
    _idle(page)
    before = len(sent)
    page.wait_for_timeout(8000)  # four intervals of ui.scheduler_view.POLL_EVERY (2 s)
    assert len(sent) == before, f"the page still polls: {len(sent) - before} message(s) sent while idle"


def _browser_page(pw, sent: list):
    """A Chromium page recording every websocket message it sends the app (each rerun request, polls too)."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    return browser, page


def _metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_the_queue_tab_follows_the_jobs_then_stops_polling(
    app_url: str,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    home = make_workspace(tmp_path / "workspace")  # the app server's IVYBT_HOME, with the test strategies
    monkeypatch.setenv("IVYBT_HOME", str(home))  # this process sees them too (the batch names them)
    JobQueue().submit(parse_batch(BATCH, "live.yaml"))
    with sync_playwright() as pw:
        sent: list[object] = []
        browser, page = _browser_page(pw, sent)
        try:
            page.goto(f"{app_url}/scheduler", wait_until="domcontentloaded")
            page.get_by_role("tab", name="Queue").click()
            expect(_metric(page, "Queued")).to_contain_text("3", timeout=60_000)
            expect(page.get_by_text("No finished job yet.")).to_be_visible()
            cancel_all = page.get_by_role("button", name="Cancel the whole batch")
            expect(cancel_all).to_be_enabled()

            env = {**os.environ, "IVYBT_HOME": str(home)}
            worker = subprocess.run(
                [sys.executable, "-m", "engine.cli", "worker", "--exit-when-empty"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert worker.returncode == 0, worker.stderr[-2000:]
            jobs = JobQueue().jobs().set_index("name")
            assert jobs["status"].to_dict() == {"slow-spy": "done", "hold-gld": "done", "broken": "failed"}

            # no click from here on: the page catches up by itself
            expect(page.get_by_text("Best job:")).to_be_visible(timeout=60_000)
            expect(_metric(page, "Done")).to_contain_text("2")
            expect(_metric(page, "Failed")).to_contain_text("1")
            expect(_metric(page, "Queued")).to_contain_text("0")
            expect(page.get_by_text("No finished job yet.")).to_have_count(0)
            expect(cancel_all).to_be_disabled()
            expect(page.get_by_role("button", name="Retry failed jobs (1)")).to_be_enabled()
            expect(page.get_by_text("Error of broken: ")).to_be_visible()
            # the open-result choices are the two done jobs (opening the list is not a rerun)
            page.get_by_role("combobox", name="Open the result of").click()
            options = page.get_by_role("option")
            expect(options).to_have_count(2)
            assert sorted(options.all_inner_texts()) == ["hold-gld", "slow-spy"]
            page.keyboard.press("Escape")

            _assert_stopped_polling(page, sent)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_the_schedules_table_shows_a_daily_ops_run_by_itself(
    app_url: str,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime

    from playwright.sync_api import expect, sync_playwright

    from brokers.scheduled_ops import enqueue_due
    from engine.batch.worker import run_worker
    from engine.ops.schedule import ScheduleStore
    from engine.store.presets import Preset, save_preset

    monkeypatch.setenv("IVYBT_HOME", str(tmp_path / "workspace"))  # the app server's workspace and presets
    monkeypatch.setenv("IVYBT_PRESETS", str(tmp_path / "presets"))
    save_preset(Preset(name="hold", strategy="buy_and_hold", symbols=("SPY",)))
    schedule = ScheduleStore().add("hold", "paper", "09:35", "America/New_York")  # mode approve
    now = datetime(2024, 3, 13, 14, 0, tzinfo=UTC)  # a Wednesday, 10:00 in New York: due
    assert len(enqueue_due(JobQueue(), now)) == 1
    with sync_playwright() as pw:
        sent: list[object] = []
        browser, page = _browser_page(pw, sent)
        try:
            page.goto(f"{app_url}/scheduler", wait_until="domcontentloaded")
            page.get_by_role("tab", name="Daily operations").click()
            table = page.get_by_test_id("stDataFrame").filter(has_text="America/New_York")
            expect(table).to_be_visible(timeout=60_000)
            expect(table.locator("td").filter(has_text="approval needed")).to_have_count(0)
            assert run_worker(queue=JobQueue(), exit_when_empty=True, clock=lambda: now) == 1
            assert ScheduleStore().get(schedule.id).last_status == "approval needed"
            # no click: the table catches up by itself
            expect(table.locator("td").filter(has_text="approval needed")).to_have_count(1, timeout=60_000)
            expect(table.locator("td").filter(has_text="2024-03-13")).to_have_count(1)
            _assert_stopped_polling(page, sent)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()

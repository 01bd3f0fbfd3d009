"""Daily Ops in a real browser (issue 16 items 7 and 8): the account cards show their whole values, Execute has a
summary beside it of what it will send (order count, gross amount, account), and once executed it is disabled with
the result beside it, also after a reload and a fresh Generate signals (the audit log remembers the plan ran)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, ROOT, _idle, app_url  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CUT_OFF = """() => Array.from(document.querySelectorAll(
    "[data-testid=stMetricValue], [data-testid=stMetricValue] *, [data-testid=stMetricLabel] *"))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.innerText} (${e.scrollWidth} > ${e.clientWidth} px)`)"""
"""Visible metric values and labels whose text is wider than their box (drawn with an ellipsis)."""


def _open(page, url: str):
    from playwright.sync_api import expect

    page.goto(url, wait_until="domcontentloaded")
    expect(page.get_by_test_id("stMetricDelta").get_by_text("connected")).to_be_visible(timeout=60_000)
    dialog = page.get_by_role("dialog")
    if dialog.count():  # Streamlit may flash "Page not found" while navigation resolves the URL path
        dialog.get_by_role("button", name="Close").click()
    generate = page.get_by_role("button", name="Generate signals")
    expect(generate).to_be_visible(timeout=60_000)
    return generate


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_execute_says_what_it_sends_then_stays_off_with_the_result(app_url: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    presets = tmp_path / "presets"
    presets.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "presets" / "sector_rotation.json", presets / "sector_rotation.json")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            generate = _open(page, f"{app_url}/daily-ops")
            _idle(page)
            assert page.evaluate(CUT_OFF) == []
            generate.click()
            expect(page.get_by_text("Risk checks")).to_be_visible(timeout=120_000)
            execute = page.get_by_role("button", name="Execute")
            expect(execute).to_be_disabled()

            from brokers.paper.adapter import PaperBroker

            db = tmp_path / "workspace" / "ivybt.db"
            account = PaperBroker(db).account().account_id
            # independent: the preset holds 3 sectors at 1/3 each of 100,000 less the 0.1% cash buffer, sized at
            # the last close with 5 bps commission and 2 bps slippage (tests/pages/test_daily_ops_page.py), so the
            # orders' gross value at the last close is 100,000 x 0.999 / (1.0005 x 1.0002)
            gross = 100_000 * 0.999 / (1.0005 * 1.0002)
            summary = f"3 orders, ${gross:,.0f}, paper account {account}"
            expect(page.get_by_test_id("stMain").get_by_text(summary)).to_be_visible()

            execute.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "daily_ops_plan.png"))
            page.get_by_text("Send 3 order(s) to the paper account").click()
            expect(execute).to_be_enabled(timeout=30_000)
            execute.click()
            done = page.get_by_text(re.compile(r"COMPLETE; 3/3"))
            expect(done.first).to_be_visible(timeout=120_000)
            _idle(page)  # the run after Execute has finished (no stale copy of the button left)
            expect(execute).to_have_count(1)
            expect(execute).to_be_disabled()
            assert len(PaperBroker(db).orders("all")) == 3

            # a reload is a new session: Generate signals makes the same plan, which the audit log knows ran
            generate = _open(page, f"{app_url}/daily-ops")
            generate.click()
            expect(page.get_by_text("Risk checks")).to_be_visible(timeout=120_000)
            execute = page.get_by_role("button", name="Execute")
            result = page.get_by_test_id("stAlertContentSuccess").get_by_text(re.compile(r"executed: COMPLETE; 3/3"))
            expect(result).to_be_visible()
            expect(execute).to_be_disabled()
            assert len(PaperBroker(db).orders("all")) == 3
            _idle(page)
            assert page.evaluate(CUT_OFF) == []
            execute.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "daily_ops_executed.png"))  # Streamlit scrolls inside its main block
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()

"""End to end in a real browser: on the Daily Ops page, generate signals, confirm, click Execute on the paper
broker and see the fills (reuses the app server fixture of test_browser_backtest)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, ROOT, app_url  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_execute_on_paper_in_real_browser(app_url: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    presets = tmp_path / "presets"
    presets.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "presets" / "sector_rotation.json", presets / "sector_rotation.json")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1440, "height": 1100},
        )
        try:
            page = context.new_page()
            page.goto(f"{app_url}/daily-ops", wait_until="domcontentloaded")
            expect(page.get_by_test_id("stMetricDelta").get_by_text("connected")).to_be_visible(timeout=60_000)
            expect(page.locator("[data-testid='stMain']").get_by_text("PAPER").first).to_be_visible()
            dialog = page.get_by_role("dialog")
            if dialog.count():  # Streamlit may flash "Page not found" while navigation resolves the URL path
                dialog.get_by_role("button", name="Close").click()
            generate = page.get_by_role("button", name="Generate signals")
            expect(generate).to_be_visible(timeout=60_000)
            generate.click()
            expect(page.get_by_text("Risk checks")).to_be_visible(timeout=120_000)
            execute = page.get_by_role("button", name="Execute")
            expect(execute).to_be_disabled()
            page.get_by_text("Send 3 order(s) to the paper account").click()
            expect(execute).to_be_enabled(timeout=30_000)
            started = time.monotonic()
            execute.click()
            page.get_by_role("tab", name="Orders and reconciliation").click()
            orders_tab = page.get_by_role("tabpanel", name="Orders and reconciliation")
            expect(
                orders_tab.get_by_test_id("stAlertContentSuccess").get_by_text("COMPLETE; 3/3 filled")
            ).to_be_visible(timeout=120_000)
            expect(
                page.get_by_text("Cash (USD)", exact=True).locator("xpath=..").locator("xpath=..")
            ).not_to_contain_text("100,000.00", timeout=30_000)  # the account panel was refreshed after the fills
            elapsed = time.monotonic() - started
            expect(page.get_by_text("Reconciliation", exact=True)).to_be_visible()
            page.wait_for_timeout(1000)
            shot = tmp_path / "daily_ops.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nclick Execute -> fills shown: {elapsed:.2f} s; screenshot {shot}")
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
        finally:
            context.close()

    from brokers.paper.adapter import PaperBroker

    ws = tmp_path / "workspace" / "ivybt.db"
    held = PaperBroker(ws).positions()
    assert len(held) == 3 and all(p.quantity > 0 for p in held)

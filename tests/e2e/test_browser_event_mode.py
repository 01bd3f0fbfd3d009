"""In a real browser (Debian's chromium): an event backtest from the Backtest page. A preset of the event strategy
gap_and_go on two days of BTC-PERP minutes is loaded, the Mode control says Event and cannot be changed, the run
shows an Orders tab with the order log, and its price chart draws the pending stop and limit levels in the legend.
The old page offered no event strategy, no Orders tab and no pending levels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, app_url  # noqa: F401  (app_url: fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_event_backtest_shows_orders_and_pending_levels(app_url: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    preset = {
        **json.loads((ROOT / "presets" / "spy_trend.json").read_text()),
        "name": "gap_btc",
        "description": "gap_and_go on BTC-PERP minutes (event mode)",
        "strategy": "gap_and_go",
        "params": {},
        "symbols": ["BTC-PERP"],
        "start": "2022-01-02",
        "end": "2022-01-03",
    }
    (tmp_path / "presets").mkdir(exist_ok=True)
    (tmp_path / "presets" / "gap_btc.json").write_text(json.dumps(preset))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(f"{app_url}/backtest", wait_until="domcontentloaded")
            expect(page.get_by_role("button", name="Run backtest")).to_be_visible(timeout=60_000)
            page.get_by_role("combobox", name="Preset").click()
            page.get_by_role("option", name="gap_btc").click()
            page.get_by_role("button", name="Load preset").click()
            expect(page.get_by_text("Loaded preset 'gap_btc'")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("gap_and_go is an event strategy")).to_be_visible(timeout=30_000)
            event = page.get_by_role("radio", name="Event (orders bar by bar)")
            expect(event).to_be_checked()
            expect(event).to_be_disabled()
            expect(page.get_by_text("Latency (bars)")).to_be_visible()
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Run backtest").click()
            expect(page.get_by_text("Backtest done")).to_be_visible(timeout=180_000)

            page.get_by_role("tab", name="Orders").click()
            expect(page.get_by_text("6 of 6 order events")).to_be_visible(timeout=60_000)
            expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
            expect(page.get_by_role("button", name="Download these orders (CSV)")).to_be_visible()

            page.get_by_role("tab", name="Prices & trades").click()
            chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
            expect(chart.locator(".legendtext", has_text="pending stop")).to_be_visible(timeout=60_000)
            expect(chart.locator(".legendtext", has_text="pending limit")).to_be_visible()
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(tmp_path / "event_mode.png"))
        finally:
            browser.close()

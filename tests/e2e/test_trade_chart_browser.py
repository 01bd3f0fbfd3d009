"""In a real browser (Debian's chromium, dark preference): the equity chart spans the page, and hovering a trade's
entry marker on the Prices & trades chart tells the trade (entry, exit, P&L, bars held, exit reason) beside the
strategy's own line. The old page put the equity chart in a 3/5 column and hovered only "entry long @ price"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, app_url  # noqa: F401  (app_url: fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_full_width_equity_and_trade_hover(app_url: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    preset = {
        **json.loads((ROOT / "presets" / "spy_trend.json").read_text()),
        "name": "ema_spy",
        "description": "ema_trend on SPY (trade hover)",
        "strategy": "ema_trend",
        "params": {},
        "symbols": ["SPY"],
        "start": "2015-01-01",
        "end": "2019-12-31",
    }
    (tmp_path / "presets").mkdir(exist_ok=True)
    (tmp_path / "presets" / "ema_spy.json").write_text(json.dumps(preset))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100}, color_scheme="dark")
            page.goto(f"{app_url}/backtest", wait_until="domcontentloaded")
            expect(page.get_by_role("button", name="Run backtest")).to_be_visible(timeout=60_000)
            page.get_by_role("combobox", name="Preset").click()
            page.get_by_role("option", name="ema_spy").click()
            page.get_by_role("button", name="Load preset").click()
            expect(page.get_by_text("Loaded preset 'ema_spy'")).to_be_visible(timeout=30_000)
            page.wait_for_timeout(500)
            page.get_by_role("button", name="Run backtest").click()
            expect(page.get_by_text("Backtest done")).to_be_visible(timeout=180_000)
            equity = page.locator("[data-testid='stPlotlyChart']").first
            expect(equity.locator(".js-plotly-plot")).to_be_visible(timeout=60_000)
            tabs = page.locator("[data-testid='stTabs']").first.bounding_box()
            box = equity.bounding_box()
            assert tabs and box and box["width"] >= 0.97 * tabs["width"], (box, tabs)  # the width of the page

            page.get_by_role("tab", name="Prices & trades").click()
            chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
            expect(chart.locator(".legendtext", has_text="EMA 50")).to_be_visible(timeout=60_000)
            entry = chart.locator(".legendtext", has_text="Entry")
            expect(entry).to_be_visible()
            # the Entry trace is the second scatter trace of the price panel (after the EMA line)
            chart.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)  # let Plotly finish drawing
            point = chart.locator(".subplot.xy .scatterlayer .trace").nth(1).locator(".points path").first
            point.scroll_into_view_if_needed()
            spot = point.bounding_box()
            assert spot, "no entry marker drawn"
            page.mouse.move(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
            hover = chart.locator(".hoverlayer .hovertext").first
            expect(hover).to_be_visible(timeout=10_000)
            text = hover.text_content() or ""
            for part in ("long trade", "entry", "exit", "P&L", "bars held"):
                assert part in text, text
            assert any(word in text for word in ("(signal)", "(stop)", "(target)", "(trailing stop)", "(still open)"))
            assert page.locator("[data-testid='stException']").count() == 0
            page.screenshot(path=str(tmp_path / "trade_hover.png"))
        finally:
            browser.close()

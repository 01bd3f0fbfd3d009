"""End to end in a real browser: a small sma_cross grid on SPY run by clicking on the Optimize page.

Reuses the server fixture of test_browser_backtest (a fresh `streamlit run app.py` on a free loopback port
with its own workspace): types the ranges fast 5..20 step 5 and slow 50..150 step 50, clicks Run
optimization, waits for the heatmap, saves a screenshot into tmp_path and checks the 4 x 3 cells drawn, the
best set and that no exception or error box is shown; then runs a Monte Carlo of the best set on its tab
(progress bar, saved as a run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, _idle, app_url  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


def _set_number(page, label: str, value: int) -> None:
    """Type into a Streamlit number input and commit it (Enter), then let the rerun finish."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    _idle(page)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_small_grid_in_real_browser(app_url: str, tmp_path: Path) -> None:  # noqa: F811 - pytest fixture
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1440, "height": 1400},
        )
        try:
            page = context.new_page()
            page.goto(f"{app_url}/optimize", wait_until="domcontentloaded")
            run = page.get_by_role("button", name="Run optimization")
            expect(run).to_be_visible(timeout=60_000)
            for label, value in (
                ("fast: from", 5),
                ("fast: to", 20),
                ("fast: step", 5),
                ("slow: from", 50),
                ("slow: to", 150),
                ("slow: step", 50),
            ):
                _set_number(page, label, value)
            expect(page.get_by_text("12 combinations")).to_be_visible(timeout=30_000)
            _idle(page)
            started = time.monotonic()
            run.click()
            heat = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot .heatmaplayer .hm").first
            expect(heat).to_be_attached(timeout=180_000)
            elapsed = time.monotonic() - started
            expect(page.get_by_text("Best set (max sharpe)")).to_be_visible(timeout=30_000)
            plot = (
                page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot")
                .filter(has=page.locator(".heatmaplayer .hm"))
                .first
            )
            plot.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)  # let Plotly finish drawing before the screenshot
            shot = tmp_path / "optimize.png"
            page.screenshot(path=str(shot), full_page=True)
            plot.screenshot(path=str(tmp_path / "heatmap.png"))
            if os.environ.get("IVYBT_E2E_SHOT"):
                Path(os.environ["IVYBT_E2E_SHOT"]).write_bytes(shot.read_bytes())
            print(
                f"\nclick Run optimization -> heatmap: {elapsed:.2f} s; screenshots {shot}, {tmp_path / 'heatmap.png'}"
            )
            assert shot.stat().st_size > 10_000
            # the 4 x 3 grid: the x axis has the four fast values, the y axis the three slow values
            ticks_x = plot.locator(".xaxislayer-above .xtick text").all_text_contents()
            ticks_y = plot.locator(".yaxislayer-above .ytick text").all_text_contents()
            assert ticks_x == ["5", "10", "15", "20"], ticks_x
            assert ticks_y == ["50", "100", "150"], ticks_y
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
            # Monte Carlo of the best set under its progress bar; the result is saved as a run
            page.get_by_role("tab", name="Monte Carlo").click()
            _idle(page)
            page.get_by_role("button", name="Run Monte Carlo").click()
            expect(page.get_by_text("The Monte Carlo was saved as run")).to_be_visible(timeout=120_000)
            expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
        finally:
            context.close()

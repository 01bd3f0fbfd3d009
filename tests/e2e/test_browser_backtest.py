"""End to end in a real browser: Debian's chromium (driven by Playwright) runs a backtest in the app.

Starts `streamlit run app.py` on a free loopback port with a fresh workspace, clicks Run backtest on the
bundled data, waits for the equity chart, saves a screenshot and checks no exception box is shown; the app
follows the browser's dark/light preference and the chart's mode bar leaves the legend and range buttons clear.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not healthy after {timeout:.0f}s")


@pytest.fixture
def app_url(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "IVYBT_HOME": str(tmp_path / "workspace"), "IVYBT_PRESETS": str(tmp_path / "presets")}
    log = open(tmp_path / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--server.headless=true",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_backtest_in_real_browser(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1440, "height": 1100},
            color_scheme="dark",
        )
        try:
            page = context.new_page()
            page.goto(f"{app_url}/backtest", wait_until="domcontentloaded")
            run = page.get_by_role("button", name="Run backtest")
            expect(run).to_be_visible(timeout=60_000)
            expect(page.get_by_text("No run yet")).to_be_visible(timeout=30_000)
            # st.navigation is in charge (not the legacy pages/ folder runner): titled entries in sections.
            # Note: `--server.fileWatcherType=none` makes Streamlit 1.67 fall back to the legacy runner.
            nav = page.get_by_test_id("stSidebar")
            expect(nav.get_by_text("Daily Ops")).to_be_visible()
            expect(nav.get_by_text("Operations")).to_be_visible()
            started = time.monotonic()
            run.click()
            chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
            expect(chart).to_be_visible(timeout=180_000)
            elapsed = time.monotonic() - started
            expect(
                page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot .scatterlayer .trace").first
            ).to_be_attached(timeout=30_000)
            page.get_by_text("Backtest done").wait_for(timeout=30_000)
            chart.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)  # let Plotly finish drawing before the screenshot
            shot = tmp_path / "backtest.png"
            page.screenshot(path=str(shot))  # Streamlit scrolls inside its main block: shoot the viewport
            if os.environ.get("IVYBT_E2E_SHOT"):
                shot_copy = Path(os.environ["IVYBT_E2E_SHOT"])
                shot_copy.write_bytes(shot.read_bytes())
            print(f"\nclick Run -> equity chart visible: {elapsed:.2f} s; screenshot {shot}")
            assert shot.stat().st_size > 10_000
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
            assert chart.locator(".cartesianlayer .scatterlayer .trace").count() == 2  # strategy and benchmark
            # the viewer prefers dark: the app follows (config.toml has [theme.light] and [theme.dark])
            assert _luminance(_background(page)) < 0.2
            # the mode bar (shown on hover, top right) does not cover the legend or the range buttons
            chart.hover()
            page.wait_for_timeout(500)
            modebar = chart.locator(".modebar").first.bounding_box()
            for part in (".legend", ".rangeselector"):
                box = chart.locator(part).first.bounding_box()
                assert modebar and box and not _overlap(modebar, box), (part, modebar, box)
            assert "run=" in page.url
            run_id = page.url.split("run=")[1].split("&")[0]

            # a browser reload is a new session: the run comes back from the store (the id is in the URL)
            page.reload(wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name=f"Run {run_id}")).to_be_visible(timeout=60_000)
            expect(page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first).to_be_visible(timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0

            # the same app in a light-preferring browser is light; Home is served at / (no /home link)
            page.emulate_media(color_scheme="light")
            page.goto(f"{app_url}/", wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name="IvyBT")).to_be_visible(timeout=60_000)
            assert _luminance(_background(page)) > 0.8
            home = page.get_by_test_id("stSidebar").get_by_role("link", name="Home")
            assert home.get_attribute("href").rstrip("/") == app_url
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            context.close()


def _idle(page) -> None:
    """Wait until no script run is in progress (Streamlit's running indicator is gone)."""
    from playwright.sync_api import expect

    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=60_000)


def _background(page) -> str:
    return page.evaluate("getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")


def _luminance(css: str) -> float:
    """Relative brightness 0 (black) .. 1 (white) of a CSS rgb()/rgba() colour."""
    r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_a_ten_symbol_twenty_year_backtest_shows_its_results(app_url: str, tmp_path: Path) -> None:
    """Issue 7's app flow: load a 10-symbol, 2005-2024 preset on the Backtest page and run it; the run's heading
    names every symbol and its equity chart is drawn, with no error. Behaviour only: how long it takes is
    measured by `python -m benchmarks.app_timing` (benchmarks/README.md), never asserted in a test."""
    import json
    import re

    from playwright.sync_api import expect, sync_playwright

    from benchmarks.app_timing import PRESET, TEN_SYMBOLS, ten_symbol_preset

    (tmp_path / "presets").mkdir(exist_ok=True)
    (tmp_path / "presets" / f"{PRESET}.json").write_text(json.dumps(ten_symbol_preset()))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.goto(f"{app_url}/backtest", wait_until="domcontentloaded")
            run = page.get_by_role("button", name="Run backtest")
            expect(run).to_be_visible(timeout=120_000)
            page.get_by_role("combobox", name="Preset").click()
            page.get_by_role("option", name=PRESET).click()
            page.get_by_role("button", name="Load preset").click()
            expect(page.get_by_text(f"Loaded preset '{PRESET}'")).to_be_visible(timeout=120_000)
            _idle(page)
            expect(run).to_be_enabled(timeout=120_000)
            run.click()
            page.wait_for_url(re.compile(r"run="), timeout=600_000, wait_until="commit")  # saved: the URL names it
            run_id = page.url.split("run=")[1].split("&")[0]
            heading = page.get_by_role("heading", name=re.compile(f"^Run {run_id}:"))
            expect(heading).to_be_visible(timeout=300_000)
            named = heading.inner_text()
            assert all(s in named for s in TEN_SYMBOLS), named
            expect(
                page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot .scatterlayer .trace").first
            ).to_be_attached(timeout=300_000)
            _idle(page)
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
        finally:
            browser.close()

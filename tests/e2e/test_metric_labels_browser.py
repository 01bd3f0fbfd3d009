"""The Backtest page's headline cards in a real browser (issue 16 item 3): each card's registry label (with its
unit) and value are shown whole, not cut off with an ellipsis, on a 1280 px wide window, and the difference to
the benchmark reads in percentage points."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, _idle, app_url  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CUT_OFF = """() => Array.from(document.querySelectorAll(
    "[data-testid=stMetricValue], [data-testid=stMetricValue] *, [data-testid=stMetricLabel] *"))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.innerText} (${e.scrollWidth} > ${e.clientWidth} px)`)"""
"""Visible metric values and labels whose text is wider than their box (drawn with an ellipsis)."""


def _saved_run(workspace: Path) -> str:
    """A run saved into the app's workspace before the browser opens it (?run=<id>)."""
    from engine.request import BacktestRequest, run_request
    from engine.store.runs import RunStore
    from engine.store.workspace import db_path

    previous = os.environ.get("IVYBT_HOME")
    os.environ["IVYBT_HOME"] = str(workspace)
    try:
        request = BacktestRequest(
            strategy="sma_cross",
            params={"fast": 10, "slow": 50},
            symbols=("SPY",),
            start="2015-01-01",
            end="2020-12-31",
        )
        return RunStore(db_path()).save(run_request(request), request)
    finally:
        if previous is None:
            del os.environ["IVYBT_HOME"]
        else:
            os.environ["IVYBT_HOME"] = previous


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_headline_cards_show_whole_labels(app_url: str, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from engine.metrics import registry

    run_id = _saved_run(tmp_path / "workspace")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{app_url}/backtest?run={run_id}", wait_until="domcontentloaded")
            labels = page.get_by_test_id("stMetricLabel")
            expect(labels.first).to_be_visible(timeout=90_000)
            _idle(page)
            shown = [t.strip() for t in labels.all_inner_texts()]
            for key in registry.HEADLINE:
                assert registry.label(key) in shown, (key, shown)
            assert page.evaluate(CUT_OFF) == []
            deltas = page.get_by_test_id("stMetricDelta").all_inner_texts()
            assert any(d.strip().endswith("pp vs benchmark") for d in deltas), deltas
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()

"""The README's tour: every page of the app opened in a real browser (Debian's chromium through Playwright) on a
fresh workspace, after one backtest and with a seeded paper account, each checked for its title and for no
exception or error box, and photographed.

The screenshots go to the test's temporary folder; `make tour` sets IVYBT_TOUR_DIR=docs/img so the same test
refreshes the README's pictures (reuses the app server fixture of test_browser_backtest).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, ROOT, app_url  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def app_pages() -> list[tuple[str, str, str]]:
    """(url path, page title, screenshot name) of every st.Page in app.py, in the sidebar's order: the tour
    follows the navigation, so a new page is photographed without editing this file."""
    pages = []
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text("utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            path = kw.get("url_path", "")
            pages.append(
                (path, "IvyBT" if kw.get("default") else kw["title"], f"{(path or 'home').replace('-', '_')}.png")
            )
    pages.sort(key=lambda p: p[0] != "")  # ast.walk visits calls in source order; Home first
    return pages


TOUR = app_pages()


def _seed_paper_account(workspace: Path) -> None:
    """A paper account with a long, a short and a resting limit order, through the real PaperBroker."""
    from brokers.base import OrderRequest
    from brokers.paper.adapter import PaperBroker

    broker = PaperBroker(workspace / "ivybt.db", allow_short=True)
    broker.submit(OrderRequest("SPY", 20, "buy", client_order_id="tour-SPY"))
    broker.submit(OrderRequest("TLT", 15, "sell", client_order_id="tour-TLT"))
    broker.submit(OrderRequest("GLD", 10, "buy", "limit", limit_price=1.0, client_order_id="tour-GLD"))


def _settle(page) -> None:
    """Wait until no script run is in progress, then let Plotly finish drawing."""
    from playwright.sync_api import expect

    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=120_000)
    page.wait_for_timeout(1500)


def _assert_clean(page, title: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"{title}: an exception is shown"
    errors = page.locator("[data-testid='stAlertContentError']").all_inner_texts()
    assert not errors, f"{title}: error boxes {errors}"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_tour_every_page_renders_and_is_photographed(
    app_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("IVYBT_HOME", str(tmp_path / "workspace"))  # the app server's workspace
    _seed_paper_account(tmp_path / "workspace")
    out = Path(os.environ.get("IVYBT_TOUR_DIR") or tmp_path / "tour")
    out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1440, "height": 1000},
            color_scheme="light",
        )
        try:
            page = context.new_page()
            for path, title, name in TOUR:
                page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
                expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=90_000)
                if path == "backtest":  # the tour shows a result, not an empty form
                    page.get_by_role("button", name="Run backtest").click()
                    chart = page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").first
                    expect(chart).to_be_visible(timeout=180_000)
                    _settle(page)
                    chart.scroll_into_view_if_needed()  # the picture shows the result, not the form
                _settle(page)
                _assert_clean(page, title)
                shot = out / name
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000, f"{shot} looks empty"
        finally:
            context.close()
    assert {name for _, _, name in TOUR} <= {p.name for p in out.glob("*.png")}


def test_the_tour_covers_every_page_of_the_navigation() -> None:
    titles = [title for _, title, _ in TOUR]
    assert titles[0] == "IvyBT" and {"Backtest", "Desk", "Journal", "Risk", "Screener"} <= set(titles)
    assert len(TOUR) == (ROOT / "app.py").read_text("utf-8").count("st.Page(")

"""End to end in a real browser, on a desktop (1440 px) and a phone-sized (390 x 844) viewport: the Risk page on a
paper account seeded through the real PaperBroker (Greeks table = shares and dollars from the sample's closes, the
heatmaps and payoff drawn inside the screen, the What-if tab's total P&L = the seeded shares x -10 %), an uploaded
positions JSON with an option (its rows appear), and the Desk page. On both viewports the page body never scrolls
sideways (document scrollWidth <= innerWidth + 1) and every chart lies within the screen's width."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, app_url  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VIEWPORTS = {"desktop": {"width": 1440, "height": 1000}, "phone": {"width": 390, "height": 844}}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth + 1"
OPTIONS_BOOK = [
    {"symbol": "SPY261218C00610000", "quantity": 2, "price": 30.0, "implied_vol": 0.18, "underlying_price": 600},
    {"symbol": "SPY", "quantity": -100, "price": 600},
]


def sample_close(symbol: str) -> float:
    from engine.data import SAMPLE_DIR

    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def grid_rows(grid) -> list[dict[str, str]]:
    """The rows of an st.dataframe as {column: cell text}, from the grid's accessibility table (raw values)."""
    headers = grid.locator("th").all_inner_texts()
    cells = grid.locator("td").all_inner_texts()
    return [dict(zip(headers, cells[i : i + len(headers)], strict=True)) for i in range(0, len(cells), len(headers))]


def assert_fits(page, what: str) -> None:
    """No sideways scroll of the page body, and every drawn chart inside the viewport's width."""
    assert page.evaluate(NO_SIDEWAYS_SCROLL), (
        what,
        page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"),
    )
    width = page.evaluate("window.innerWidth")
    charts = page.locator("[data-testid='stPlotlyChart']")
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        if box is not None and box["width"] > 0:  # a chart of a hidden tab has no box
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (what, i, box, width)


def open_page(page, url: str, ready: str):
    from playwright.sync_api import expect

    page.goto(url, wait_until="domcontentloaded")
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text(ready).first).to_be_visible(timeout=90_000)
    dialog = page.get_by_role("dialog")
    if dialog.count():  # Streamlit may flash "Page not found" while navigation resolves the URL path
        dialog.get_by_role("button", name="Close").click()
    return main


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_risk_and_desk_pages_on_a_desktop_and_a_390px_screen(
    app_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from brokers.base import OrderRequest
    from brokers.paper.adapter import PaperBroker

    monkeypatch.setenv("IVYBT_HOME", str(tmp_path / "workspace"))  # the app server's workspace
    seed = PaperBroker(tmp_path / "workspace" / "ivybt.db")  # no costs: fills at the sample's last close
    seed.submit(OrderRequest("XLK", 10, "buy", client_order_id="seed-XLK"))
    seed.submit(OrderRequest("XLE", 5, "buy", client_order_id="seed-XLE"))
    xlk, xle = sample_close("XLK"), sample_close("XLE")
    book = tmp_path / "book.json"
    book.write_text(json.dumps(OPTIONS_BOOK))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for name, viewport in VIEWPORTS.items():
                page = browser.new_context(viewport=viewport).new_page()
                main = open_page(page, f"{app_url}/risk", "positions from the paper account")

                # Greeks: the positions table (shares and dollar delta), the heatmaps and the payoff
                grid = main.get_by_test_id("stDataFrame").first
                expect(grid.locator("td").first).to_be_attached(timeout=30_000)
                rows = {r["Position"]: r for r in grid_rows(grid)}
                assert set(rows) == {"XLK", "XLE", "Total"}, name
                assert float(rows["XLK"]["Quantity"]) == 10 and float(rows["XLE"]["Quantity"]) == 5
                if name == "desktop":  # a narrow grid puts only the columns in view into its accessibility table
                    assert float(rows["XLK"]["Delta (shares)"]) == 10
                    assert float(rows["XLE"]["Dollar delta ($)"]) == pytest.approx(5 * xle)
                    assert float(rows["Total"]["Dollar delta ($)"]) == pytest.approx(10 * xlk + 5 * xle)
                charts = main.get_by_test_id("stPlotlyChart")
                expect(charts).to_have_count(4, timeout=30_000)  # three on Greeks, the grid on the What-if tab
                for title in ("Exposure by symbol", "Exposure by sector", "Payoff (P&L vs today)"):
                    chart = charts.filter(has_text=title)
                    chart.scroll_into_view_if_needed()
                    expect(chart).to_be_visible()
                assert_fits(page, f"risk greeks {name}")

                # What-if: the custom form's default (every price -10 %) on shares alone
                main.get_by_role("tab", name="What-if").click()
                total = main.get_by_test_id("stMetric").filter(has_text="Total P&L (custom)")
                value = total.get_by_test_id("stMetricValue")
                expect(value).to_be_visible(timeout=30_000)
                shown = float(value.inner_text().replace(",", ""))
                assert shown == pytest.approx(-0.1 * (10 * xlk + 5 * xle), abs=0.006)  # printed to the cent
                grid_chart = main.get_by_test_id("stPlotlyChart").filter(has_text="Total P&L: price x vol")
                grid_chart.scroll_into_view_if_needed()
                expect(grid_chart).to_be_visible(timeout=30_000)
                assert_fits(page, f"risk what-if {name}")

                # an uploaded positions JSON with an option
                main.get_by_text("Positions JSON").first.click()
                upload = main.get_by_test_id("stFileUploaderDropzoneInput")
                expect(upload).to_be_attached(timeout=30_000)
                upload.set_input_files(str(book))
                expect(main.get_by_text("positions from the positions JSON")).to_be_visible(timeout=30_000)
                grid = main.get_by_test_id("stDataFrame").first
                expect(grid.get_by_text("SPY   261218C00610000")).to_be_attached(timeout=30_000)
                assert_fits(page, f"risk upload {name}")
                assert page.locator("[data-testid='stException']").count() == 0
                assert page.locator("[data-testid='stAlertContentError']").count() == 0
                page.screenshot(path=str(tmp_path / f"risk-{name}.png"))

                # the Desk: account cards and positions, no sideways scroll
                main = open_page(page, f"{app_url}/desk", "PAPER")
                expect(main.get_by_test_id("stMetric").filter(has_text="Equity (USD)")).to_be_visible(timeout=30_000)
                positions = main.get_by_test_id("stDataFrame").first
                positions.scroll_into_view_if_needed()
                expect(positions.locator("td").first).to_be_attached(timeout=30_000)
                assert {next(iter(r.values())) for r in grid_rows(positions)} == {"XLK", "XLE"}  # the index column
                expect(positions).to_be_visible()
                assert_fits(page, f"desk {name}")
                assert page.locator("[data-testid='stException']").count() == 0
                page.screenshot(path=str(tmp_path / f"desk-{name}.png"))
                page.context.close()
        finally:
            browser.close()

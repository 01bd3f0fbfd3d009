"""End to end in a real browser: the Desk page on a paper account seeded through the real PaperBroker (a long, a
short, two resting limit orders). The positions and P&L shown equal the values computed from the bundled
sample's closes and the fill costs; a cancel button removes its order (from the page and from the broker), the
modify control moves the other order's limit price, and the typed-confirmation flatten leaves the account flat
(reuses the app server fixture of test_browser_backtest)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, app_url  # noqa: F401 - fixture
from ui.desk_view import column_label  # the headers people read ("Avg cost", "Unrealized P&L")

pytestmark = pytest.mark.e2e

SLIPPAGE_BPS = 50.0  # the seeding broker's fills: buys at close x 1.005, sells at close x 0.995 (no commission)


def sample_close(symbol: str) -> float:
    from engine.data import SAMPLE_DIR

    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def grid_rows(grid) -> list[dict[str, str]]:
    """The rows of an st.dataframe as {column: cell text}, from the grid's accessibility table (raw values)."""
    headers = grid.locator("th").all_inner_texts()
    cells = grid.locator("td").all_inner_texts()
    return [dict(zip(headers, cells[i : i + len(headers)], strict=True)) for i in range(0, len(cells), len(headers))]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_desk_positions_cancel_modify_and_flatten_in_real_browser(
    app_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from brokers.base import OrderRequest
    from brokers.paper.adapter import PaperBroker
    from engine.config import Costs

    monkeypatch.setenv("IVYBT_HOME", str(tmp_path / "workspace"))  # the app server's workspace (same prices)
    db = tmp_path / "workspace" / "ivybt.db"
    seed = PaperBroker(db, costs=Costs(slippage_bps=SLIPPAGE_BPS), allow_short=True)
    seed.submit(OrderRequest("XLK", 10, "buy", client_order_id="seed-XLK"))
    seed.submit(OrderRequest("XLE", 4, "sell", client_order_id="seed-XLE"))
    xlf_limit, xlv_limit = round(sample_close("XLF") * 0.5, 2), round(sample_close("XLV") * 0.5, 2)
    seed.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=xlf_limit, client_order_id="lim-XLF"))
    seed.submit(OrderRequest("XLV", 2, "buy", "limit", limit_price=xlv_limit, client_order_id="lim-XLV"))

    # independently: fills at the close moved by the slippage, marked at the close
    xlk, xle = sample_close("XLK"), sample_close("XLE")
    xlk_cost, xle_cost = xlk * (1 + SLIPPAGE_BPS / 1e4), xle * (1 - SLIPPAGE_BPS / 1e4)
    cash = 100_000.0 - 10 * xlk_cost + 4 * xle_cost
    equity = cash + 10 * xlk - 4 * xle
    expected = {
        "XLK": (10.0, xlk_cost, xlk, 10 * xlk, 10 * (xlk - xlk_cost)),
        "XLE": (-4.0, xle_cost, xle, -4 * xle, -4 * (xle - xle_cost)),
    }
    new_limit = round(xlv_limit - 1.25, 2)

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
            page.goto(f"{app_url}/desk", wait_until="domcontentloaded")
            main = page.locator("[data-testid='stMain']")
            expect(main.get_by_text("PAPER").first).to_be_visible(timeout=90_000)
            dialog = page.get_by_role("dialog")
            if dialog.count():  # Streamlit may flash "Page not found" while navigation resolves the URL path
                dialog.get_by_role("button", name="Close").click()

            # the account cards and the positions grid
            metrics = main.get_by_test_id("stMetric")
            expect(metrics.filter(has_text="Equity (USD)").get_by_test_id("stMetricValue")).to_have_text(
                f"{equity:,.2f}", timeout=30_000
            )
            expect(metrics.filter(has_text="Cash (USD)").get_by_test_id("stMetricValue")).to_have_text(f"{cash:,.2f}")
            grids = main.get_by_test_id("stDataFrame")
            expect(grids.first.locator("td").first).to_be_attached(timeout=30_000)  # the grid's a11y table
            deadline = time.monotonic() + 30.0
            while True:  # a rerun may still be drawing the grid when its table first appears: read until it is whole
                shown = {r[column_label("symbol")]: r for r in grid_rows(grids.first)}
                if set(shown) == {"XLK", "XLE"} or time.monotonic() > deadline:
                    break
                page.wait_for_timeout(250)
            assert set(shown) == {"XLK", "XLE"}
            for sym, values in expected.items():
                r = shown[sym]
                cols = ("quantity", "avg_cost", "last_price", "market_value", "unrealized_pnl")
                assert tuple(float(r[column_label(c)]) for c in cols) == pytest.approx(values), sym

            # cancel XLF with its button: gone from the page and from the broker
            cancel = main.get_by_role("button", name=f"Cancel buy 5 XLF limit {xlf_limit:g}")
            expect(cancel).to_be_visible()
            cancel.click()
            expect(cancel).to_have_count(0, timeout=30_000)
            expect(main.get_by_text("Modify buy 5 XLF")).to_have_count(0)
            assert [o.status for o in PaperBroker(db).orders("all") if o.client_order_id == "lim-XLF"] == ["canceled"]

            # modify XLV's limit price in its expander
            modify = main.get_by_test_id("stExpander").filter(has_text=f"Modify buy 2 XLV limit {xlv_limit:g}")
            modify.get_by_text(f"Modify buy 2 XLV limit {xlv_limit:g}").click()
            price = modify.get_by_label("Limit price")
            expect(price).to_be_visible()
            price.fill(str(new_limit))
            price.press("Enter")
            modify.get_by_role("button", name="Apply").click()
            expect(main.get_by_text(f"Modify buy 2 XLV limit {new_limit:g}")).to_be_visible(timeout=30_000)
            expect(main.get_by_test_id("stAlertContentSuccess").filter(has_text="modified")).to_be_visible()
            (xlv_order,) = [o for o in PaperBroker(db).orders("open") if o.client_order_id == "lim-XLV"]
            assert xlv_order.limit_price == pytest.approx(new_limit)
            expect(grids.nth(1).locator("td").first).to_be_attached(timeout=30_000)
            orders = [r for r in grid_rows(grids.nth(1)) if r.get(column_label("symbol")) == "XLV"]
            assert len(orders) == 1 and float(orders[0][column_label("limit_price")]) == pytest.approx(new_limit)

            # flatten: the button is enabled by the typed word only
            flatten = main.get_by_role("button", name="Flatten everything")
            expect(flatten).to_be_disabled()
            confirm = main.get_by_label("Type FLATTEN to confirm")
            confirm.fill("FLATTEN")
            confirm.press("Enter")
            expect(flatten).to_be_enabled(timeout=30_000)
            flatten.click()
            expect(main.get_by_test_id("stAlertContentSuccess").filter(has_text="FLAT")).to_be_visible(timeout=90_000)
            expect(main.get_by_text("No positions.")).to_be_visible(timeout=30_000)
            expect(main.get_by_text("No open orders.")).to_be_visible()
            page.screenshot(path=str(tmp_path / "desk.png"), full_page=True)
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.locator("[data-testid='stAlertContentError']").count() == 0
        finally:
            context.close()

    after = PaperBroker(db)
    assert after.positions() == [] and after.orders("open") == []
    closed = {o.client_order_id: o.status for o in after.orders("closed")}
    assert closed["lim-XLF"] == closed["lim-XLV"] == "canceled"

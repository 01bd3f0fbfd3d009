"""End to end in a real browser: the Journal page on a saved run. On a desktop window a trade is journaled with notes,
a new tag, a new setup, a state and a real PNG screenshot (stored byte-equal in the workspace), and a text file
named .png is refused with its one-line message; on a phone-sized window (390 x 844) the page fits the screen
(nothing wider than the viewport) and another trade is journaled through the same form (reuses the app server
fixture of test_browser_backtest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_browser_backtest import CHROMIUM, CHROMIUM_ARGS, app_url  # noqa: F401 - fixture
from tests.engine.test_journal_store import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
WIDEST = """() => {
    const main = document.querySelector("[data-testid='stMain']");
    return {
        page: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        main: main ? main.scrollWidth : -1,
        mainClient: main ? main.clientWidth : -1,
    };
}"""


def seed_run(home: Path) -> str:
    from engine.config import BacktestConfig
    from engine.request import BacktestRequest, run_request
    from engine.store.runs import RunStore

    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2017-01-01",
        end="2021-12-31",
        config=BacktestConfig(),
    )
    return RunStore(home / "ivybt.db").save(run_request(request), request)


def choose(page, box, text: str) -> None:
    """Type `text` into a select box's input and pick it from the list (an existing option or the new one)."""
    from playwright.sync_api import expect

    field = box.get_by_role("combobox")
    field.click()
    field.fill(text)
    option = page.get_by_role("option").filter(has_text=text).first
    expect(option).to_be_visible(timeout=30_000)
    option.click()
    page.get_by_text("Journal a trade", exact=True).click()  # closes the list (Escape would clear a selectbox)


def journal_trade(page, notes: str, tag: str, setup: str, files: list[dict]) -> None:
    """Fill the Journal a trade form of a trade without an entry yet, and save it."""
    from playwright.sync_api import expect

    main = page.get_by_test_id("stMain")
    form = main.get_by_test_id("stForm")
    expect(form).to_have_count(1, timeout=30_000)  # the rerun after picking a trade is done
    new_entry = form.get_by_role("button", name="Save entry", exact=True)  # the form of a trade without an entry
    expect(new_entry).to_be_visible(timeout=30_000)
    text = form.get_by_role("textbox", name="Notes")
    expect(text).to_have_value("", timeout=30_000)
    text.fill(notes)
    choose(page, form.get_by_test_id("stMultiSelect"), tag)
    expect(form.get_by_test_id("stMultiSelect")).to_contain_text(tag)
    choose(page, form.get_by_test_id("stSelectbox"), setup)
    expect(form.get_by_test_id("stSelectbox").get_by_role("combobox")).to_have_value(setup)
    if files:
        form.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files)
        for f in files:  # uploaded before the form is sent
            expect(form.get_by_role("button", name=f"Remove {f['name']}")).to_be_visible(timeout=30_000)
    expect(text).to_have_value(notes)
    new_entry.click()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing (scripts/bootstrap.sh installs it)")
def test_journal_page_desktop_and_phone(
    app_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from engine.journal.store import JournalStore

    home = tmp_path / "workspace"  # the app server's workspace
    run_id = seed_run(home)
    store = JournalStore(home / "ivybt.db")
    picture = png_bytes(40, 30)

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
            page.goto(f"{app_url}/journal", wait_until="domcontentloaded")
            main = page.get_by_test_id("stMain")
            expect(main.get_by_role("heading", name="Journal a trade")).to_be_visible(timeout=90_000)

            # a text file named like a picture: refused, one line naming it, nothing stored
            fake = {"name": "fake.png", "mimeType": "image/png", "buffer": b"just some text\n"}
            journal_trade(page, "first try", "breakout", "opening gap", [fake])
            error = main.get_by_test_id("stAlertContentError")
            expect(error).to_contain_text("screenshot 'fake.png' refused: not an image", timeout=30_000)
            assert store.entries() == []

            shot = {"name": "chart.png", "mimeType": "image/png", "buffer": picture}
            page.reload(wait_until="domcontentloaded")
            expect(main.get_by_role("heading", name="Journal a trade")).to_be_visible(timeout=60_000)
            journal_trade(page, "waited for the close above the range", "breakout", "opening gap", [shot])
            expect(main.get_by_test_id("stAlertContentSuccess")).to_contain_text(
                "Saved journal entry #1", timeout=30_000
            )
            (entry,) = store.entries()
            assert (entry.target.run_id, entry.target.trade_index) == (run_id, 0)
            assert (entry.notes, entry.tags, entry.setup) == (
                "waited for the close above the range",
                ("breakout",),
                "opening gap",
            )
            assert store.file_of(entry.screenshots[0]).read_bytes() == picture
            expect(main.get_by_test_id("stImage").first).to_be_visible()
            page.screenshot(path=str(tmp_path / "journal-desktop.png"), full_page=True)

            # a phone: the page fits 390 px, and the form still journals a trade
            page.set_viewport_size(PHONE)
            page.goto(f"{app_url}/journal", wait_until="domcontentloaded")
            expect(main.get_by_role("heading", name="Journal a trade")).to_be_visible(timeout=60_000)
            expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=30_000)
            widths = page.evaluate(WIDEST)
            assert widths["page"] <= PHONE["width"] and widths["body"] <= PHONE["width"], widths
            assert widths["main"] <= widths["mainClient"] <= PHONE["width"], widths

            choose(page, main.get_by_test_id("stSelectbox").filter(has_text="Trade"), "#1 SPY")
            journal_trade(page, "phone entry", "mobile", "pullback", [])
            expect(main.get_by_test_id("stAlertContentSuccess")).to_contain_text(
                "Saved journal entry #2", timeout=30_000
            )
            (second,) = [e for e in store.entries() if e.id == 2]
            assert (second.target.trade_index, second.notes, second.tags) == (1, "phone entry", ("mobile",))
            widths = page.evaluate(WIDEST)
            assert widths["page"] <= PHONE["width"] and widths["main"] <= widths["mainClient"], widths
            page.screenshot(path=str(tmp_path / "journal-phone.png"), full_page=True)
        finally:
            context.close()

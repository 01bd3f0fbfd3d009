"""The Screener page: screen picked symbols as of a date (the table equals the engine's screen on the same spec),
download it as CSV, save the ranked symbols as a watchlist and screen that watchlist, see the clustered
correlation heatmap in scipy's leaf order, schedule the screen, and a bad filter as one error line."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from engine.batch.screen_schedules import ScreenScheduleStore
from engine.data import load_market_data
from engine.research.screen import ScreenSpec, run_screen
from engine.store.watchlists import WatchlistStore
from tests.pages.page_helpers import Downloads, assert_clean, chart_traces, errors, frame, page

SYMBOLS = ["SPY", "QQQ", "TLT", "GLD", "XLE"]
ASOF = "2020-06-30"


def _screened(at):
    at.multiselect(key="sc_symbols").set_value(SYMBOLS)
    at.text_input(key="sc_asof").set_value(ASOF)
    at.number_input(key="sc_top").set_value(4)
    at.text_area(key="sc_filters").set_value("rsi_14 < 90")
    at.button(key="sc_run").click()
    return at.run()


@pytest.mark.slow
def test_screen_download_save_watchlist_correlation_and_schedule(workspace, monkeypatch) -> None:
    downloads = Downloads(monkeypatch)
    at = page("screener").run()
    assert_clean(at)
    at = _screened(at)
    assert_clean(at)
    want = run_screen(ScreenSpec(SYMBOLS, "momentum_126", ("rsi_14 < 90",), top=4, asof=ASOF)).table
    shown = frame(at, "symbol")
    assert list(shown.index) == list(want.index)
    assert list(shown["momentum_126"]) == pytest.approx(list(want["momentum_126"]), rel=1e-12)
    csv = pd.read_csv(io.BytesIO(downloads.content(at.get("download_button")[0])))
    assert list(csv["symbol"]) == list(want.index)

    # the clustered correlation of the universe, in scipy's own leaf order
    returns = load_market_data(SYMBOLS, None, ASOF).close.pct_change(fill_method=None).iloc[-252:]
    dist = 1 - returns.corr().to_numpy()
    order = [SYMBOLS[i] for i in leaves_list(linkage(squareform(dist, checks=False), method="average"))]
    heatmap = next(t for t in chart_traces(at.get("plotly_chart")[0]) if t["type"] == "heatmap")
    assert list(heatmap["x"]) == order

    at.text_input(key="sc_save_name").set_value("top4")
    at = _submit(at, "sc_save")
    assert_clean(at)
    assert WatchlistStore().get("top4").symbols == tuple(want.index)

    at.text_input(key="sc_sched_name").set_value("momentum")
    at = _submit(at, "sc_schedule")
    assert_clean(at)
    [sched] = ScreenScheduleStore().list()
    assert sched.name == "momentum" and sched.every_minutes == 60 and sched.spec.top == 4

    # the saved watchlist as the universe gives the same ranking
    at.radio(key="sc_source").set_value("Watchlist")
    at = at.run()
    at.selectbox(key="sc_watchlist").set_value("top4")
    at.button(key="sc_run").click()
    at = at.run()
    assert_clean(at)
    assert list(frame(at, "symbol").index) == list(want.index)


def _submit(at, form_id: str):
    button = next(b for b in at.button if b.proto.form_id == form_id)
    return button.click().run()


def test_a_bad_filter_is_one_error_line(workspace) -> None:
    at = page("screener").run()
    at.multiselect(key="sc_symbols").set_value(["SPY"])
    at.text_area(key="sc_filters").set_value("rsi_14 ~ 3")
    at.button(key="sc_run").click()
    at = at.run()
    assert not at.exception
    assert errors(at) == [
        "filter 'rsi_14 ~ 3' is not COLUMN OP VALUE, e.g. rsi_14<30 or momentum_126>0 (OP: < <= > >= == !=)"
    ]

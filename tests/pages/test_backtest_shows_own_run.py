"""The Backtest page shows the user's own run of this session, never the store's latest run of someone else.

Opened without `?run=`, a fresh session with a stored batch run of another strategy shows the empty form and a
hint (the old page showed that batch run as if the user had just run it); `?run=ID` opens that stored run, its
name in the heading; a run started in this session is the one on screen even when a newer one is stored.
"""

from __future__ import annotations

import datetime as dt

from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, page


def _store_batch_run(name: str = "nightly rsi sweep") -> str:
    request = BacktestRequest(strategy="rsi_reversion", symbols=("QQQ",), start="2018-01-01", end="2019-12-31")
    return RunStore().save(run_request(request), request, kind="backtest", name=name)


def _text(at) -> str:
    return " ".join([*(i.value for i in at.info), *(c.value for c in at.caption), *(h.value for h in at.subheader)])


def test_fresh_session_without_run_shows_the_form_not_the_latest_stored_run(workspace) -> None:
    batch_id = _store_batch_run()
    at = page("backtest")
    at.run()
    assert_clean(at)
    assert not at.subheader, [h.value for h in at.subheader]  # no run heading at all
    assert batch_id not in _text(at)
    hint = " ".join(i.value for i in at.info)
    assert "No run yet in this session" in hint and "Runs" in hint
    assert not at.get("plotly_chart")
    assert at.expander[1].proto.expanded  # the settings form is open, ready for a first run


def test_run_param_opens_a_stored_run_with_its_name_in_the_heading(workspace) -> None:
    batch_id = _store_batch_run("nightly rsi sweep")
    at = page("backtest")
    at.query_params["run"] = batch_id
    at.run()
    assert_clean(at)
    heading = at.subheader[0].value
    assert heading == f"Run {batch_id}: rsi_reversion on QQQ · nightly rsi sweep"


def test_own_run_stays_on_screen_when_a_newer_run_is_stored(workspace) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["SPY"])
    at.date_input(key="bt_start").set_value(dt.date(2016, 1, 1))
    at.date_input(key="bt_end").set_value(dt.date(2018, 12, 31))
    at.button(key="bt_run").click().run()
    assert_clean(at)
    own_id = RunStore().list()["id"].iloc[0]
    batch_id = _store_batch_run()  # stored after the user's run: the store's latest now
    assert RunStore().latest().id == batch_id
    at.run()  # any later rerun of the page
    assert_clean(at)
    assert at.subheader[0].value.startswith(f"Run {own_id}: sma_cross on SPY")
    assert batch_id not in _text(at)

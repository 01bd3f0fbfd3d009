"""The Backtest page's financing inputs (cash rate, borrow fee, margin rate): the run shows the three financing
lines, each the engine's own run of the same request, in the metrics table and the costs caption."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.config import BacktestConfig, Financing, Risk
from engine.metrics.registry import FINANCING_METRICS, format_value
from engine.request import BacktestRequest, run_request
from tests.pages.page_helpers import assert_clean, metric_rows, page


@pytest.mark.slow
def test_financing_lines_from_the_page(workspace) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["SPY", "QQQ"])
    at.date_input(key="bt_start").set_value(dt.date(2018, 1, 1))
    at.date_input(key="bt_end").set_value(dt.date(2019, 12, 31))
    at.checkbox(key="bt_p_sma_cross_allow_short").check()
    at.number_input(key="bt_leverage").set_value(1.5)
    at.number_input(key="bt_cash_rate").set_value(2.0)
    at.number_input(key="bt_borrow").set_value(400.0)
    at.number_input(key="bt_margin").set_value(7.0)
    at.button(key="bt_run").click().run()
    assert_clean(at)
    config = BacktestConfig(
        cash_rate=0.02, risk=Risk(max_leverage=1.5), financing=Financing(borrow_bps=400.0, margin_rate=0.07)
    )
    request = BacktestRequest(
        strategy="sma_cross",
        params={"allow_short": True},
        symbols=("SPY", "QQQ"),
        start="2018-01-01",
        end="2019-12-31",
        config=config,
    )
    want = run_request(request).metrics
    assert want["borrow_cost"] > 0 and want["cash_interest"] > 0
    rows = metric_rows(at).rename(index={m.label: m.key for m in FINANCING_METRICS})
    caption = " ".join(c.value for c in at.caption)
    for m in FINANCING_METRICS:
        assert rows.loc[m.key, "Strategy"] == pytest.approx(want[m.key], rel=1e-9), m.key
        assert f"{m.label} {format_value(m.key, want[m.key])}" in caption
    assert rows.loc["total_return", "Strategy"] == pytest.approx(want["total_return"], rel=1e-9)


def test_the_form_keeps_a_loaded_requests_financing() -> None:
    from ui.backtest_form import build_request, fill_state

    fin = Financing(borrow_bps=250.0, borrow_bps_by_symbol={"QQQ": 900.0}, margin_rate=0.06)
    request = BacktestRequest(
        strategy="sma_cross", symbols=("SPY", "QQQ"), config=BacktestConfig(cash_rate=0.02, financing=fin)
    )
    state: dict = {}
    fill_state(state, request, ["SPY", "QQQ"])
    config = build_request(state, {}).config
    assert config.financing == fin and config.cash_rate == pytest.approx(0.02)
    state["bt_margin"] = None  # emptied on the page: negative cash pays the cash rate
    assert build_request(state, {}).config.financing.margin_rate is None

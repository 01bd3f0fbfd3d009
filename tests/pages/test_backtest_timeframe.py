"""The Backtest page's timeframe select: offered only for intraday symbols, and the run uses it."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, metric_rows, page


def _selects(at) -> list[str]:
    return [s.key for s in at.selectbox]


def test_timeframe_select_for_intraday_symbols_and_the_run_uses_it(workspace) -> None:
    at = page("backtest")
    at.run()
    assert_clean(at)
    assert "bt_timeframe" not in _selects(at)  # SPY, daily: nothing to choose

    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["BTC-PERP"]).run()
    assert "bt_timeframe" in _selects(at)
    select = at.selectbox(key="bt_timeframe")
    assert select.value == "" and len(select.options) == 7  # native + 5min, 15min, 30min, 1h, 4h, 1d
    select.set_value("15min")
    at.date_input(key="bt_start").set_value(dt.date(2022, 1, 1))
    at.button(key="bt_run").click().run()
    assert_clean(at)

    runs = RunStore().list()
    assert len(runs) == 1
    stored = RunStore().load(runs["id"].iloc[0])
    assert stored.request.timeframe == "15min" and stored.result.config.periods_per_year == 35_040  # 96 x 365
    expected = run_request(
        BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), start="2022-01-01", timeframe="15min")
    )
    shown = metric_rows(at)
    for name, value in expected.metrics.items():
        got = shown.loc[name, "Strategy"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-12), name

    at.multiselect(key="bt_symbols").set_value(["SPY"]).run()
    assert "bt_timeframe" not in _selects(at)  # back to daily symbols: the select goes away

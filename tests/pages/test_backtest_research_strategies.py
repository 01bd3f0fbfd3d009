"""The Backtest page runs issue 18's strategies (pairs, regime_router, momentum_voltarget) with their default
parameters: the metrics it shows are the engine's run of the same request, and each run trades."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from engine.request import BacktestRequest, run_request
from tests.pages.page_helpers import assert_clean, metric_rows, page

CASES = [
    ("pairs", ["XLE", "XLU"]),
    ("regime_router", ["SPY"]),
    ("momentum_voltarget", ["SPY", "TLT", "GLD", "QQQ"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("strategy", "symbols"), CASES)
def test_the_page_shows_the_engines_run(workspace, strategy: str, symbols: list[str]) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value(strategy).run()
    at.multiselect(key="bt_symbols").set_value(symbols)
    at.date_input(key="bt_start").set_value(dt.date(2008, 1, 1))
    at.date_input(key="bt_end").set_value(dt.date(2019, 12, 31))
    at.button(key="bt_run").click().run()
    assert_clean(at)
    expected = run_request(
        BacktestRequest(strategy=strategy, symbols=tuple(symbols), start="2008-01-01", end="2019-12-31")
    )
    assert expected.metrics["n_trades"] > 0
    shown = metric_rows(at)
    for name, value in expected.metrics.items():
        got = shown.loc[name, "Strategy"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-9), name

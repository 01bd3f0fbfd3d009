"""The Backtest page runs the portfolio optimizer strategy and a sizing overlay: what it shows is the engine's
run of the same request."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from engine.config import BacktestConfig, Sizing
from engine.request import BacktestRequest, constraint_cuts, run_request
from tests.pages.page_helpers import assert_clean, metric_rows, page


def _same_metrics(at, request: BacktestRequest) -> None:
    expected = run_request(request)
    shown = metric_rows(at)
    for name, value in expected.metrics.items():
        got = shown.loc[name, "Strategy"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-9), name


def _dates(at) -> None:
    at.date_input(key="bt_start").set_value(dt.date(2016, 1, 1))
    at.date_input(key="bt_end").set_value(dt.date(2019, 12, 31))


@pytest.mark.slow
def test_portfolio_opt_from_the_page(workspace) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value("portfolio_opt").run()
    at.multiselect(key="bt_symbols").set_value(["SPY", "TLT", "GLD"])
    _dates(at)
    at.selectbox(key="bt_p_portfolio_opt_method").set_value("hrp")
    at.number_input(key="bt_p_portfolio_opt_max_weight").set_value(0.5)
    at.button(key="bt_run").click().run()
    assert_clean(at)
    request = BacktestRequest(
        strategy="portfolio_opt",
        params={"method": "hrp", "max_weight": 0.5},  # the other parameters at their defaults, as on the page
        symbols=("SPY", "TLT", "GLD"),
        start="2016-01-01",
        end="2019-12-31",
    )
    _same_metrics(at, request)
    at.session_state["bt_tabs"] = "Exposure"
    at.run()
    assert_clean(at)
    (shown,) = [d.value for d in at.dataframe if "constraint" in d.value.columns]
    expected = constraint_cuts(request)
    assert expected is not None and len(expected) > 0 and len(shown) == len(expected)
    assert shown["constraint"].tolist() == expected["constraint"].tolist()
    assert (shown["weight"].abs() <= 0.5 + 1e-6).all() and (shown["unconstrained"].abs() > shown["weight"].abs()).all()


@pytest.mark.slow
def test_sizing_overlay_from_the_page(workspace) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["SPY", "QQQ"])
    _dates(at)
    at.number_input(key="bt_p_sma_cross_fast").set_value(20)
    at.number_input(key="bt_p_sma_cross_slow").set_value(100)
    at.selectbox(key="bt_overlay").set_value("vol_target")
    at.number_input(key="bt_overlay_vol").set_value(8.0)
    at.button(key="bt_run").click().run()
    assert_clean(at)
    sizing = Sizing(method="vol_target", target_vol=0.08)
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 20, "slow": 100},
        symbols=("SPY", "QQQ"),
        start="2016-01-01",
        end="2019-12-31",
        config=BacktestConfig(sizing=sizing),
    )
    _same_metrics(at, request)
    plain = run_request(request.with_changes(config=BacktestConfig()))
    assert plain.metrics["total_return"] != pytest.approx(metric_rows(at).loc["total_return", "Strategy"])

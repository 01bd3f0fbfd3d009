"""The Backtest page's benchmark: SPY by default even for a run without SPY, an equal weight of the symbols when
chosen; named on the page, and the benchmark-relative metrics measured against it (the old page benchmarked a
multi-asset run against its first symbol and said so)."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.config import EQUAL_WEIGHT, BacktestConfig
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, page


def _run(at, benchmark=None):
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["QQQ", "TLT"])
    at.date_input(key="bt_start").set_value(dt.date(2012, 1, 1))
    at.date_input(key="bt_end").set_value(dt.date(2018, 12, 31))
    if benchmark is not None:
        at.selectbox(key="bt_benchmark").set_value(benchmark)
    return at.button(key="bt_run").click().run()


def _caption(at) -> str:
    return " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("choice, name", [(None, "SPY"), (EQUAL_WEIGHT, "equal weight (QQQ, TLT)")])
def test_benchmark_is_named_and_measured_against(workspace, choice, name) -> None:
    at = page("backtest")
    at.run()
    _run(at, choice)
    assert_clean(at)
    assert f"benchmark: {name} (bought at the start and held)" in _caption(at)
    stored = RunStore().latest()
    assert stored.request.config.benchmark == choice
    expected = run_request(
        BacktestRequest(
            strategy="sma_cross",
            symbols=("QQQ", "TLT"),
            start="2012-01-01",
            end="2018-12-31",
            config=BacktestConfig(benchmark=choice),
        )
    )
    assert str(expected.benchmark.name) == f"benchmark {name}"
    for metric in ("beta", "alpha", "tracking_error", "information_ratio", "up_capture", "down_capture"):
        assert stored.result.metrics[metric] == pytest.approx(expected.metrics[metric], rel=1e-12), metric
    first_symbol = run_request(
        BacktestRequest(
            strategy="sma_cross",
            symbols=("QQQ", "TLT"),
            start="2012-01-01",
            end="2018-12-31",
            config=BacktestConfig(benchmark="QQQ"),
        )
    )
    assert stored.result.metrics["beta"] != pytest.approx(first_symbol.metrics["beta"], rel=1e-6)

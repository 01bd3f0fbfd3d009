"""A stored run opened on the Backtest page shows its journal entries as markers: on the equity curve at the
curve's value on the trade's entry bar, and on the price chart at the trade's entry price (hover: the note)."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.journal.model import backtest_target
from engine.journal.store import JournalStore
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, chart_traces, page


def test_journal_entries_are_markers_on_the_backtest_charts(workspace) -> None:
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2015-01-01",
        end="2019-12-31",
        config=BacktestConfig(),
    )
    result = run_request(request)
    run_id = RunStore().save(result, request)
    trade = result.trades.reset_index(drop=True).iloc[1]
    entry_time = pd.Timestamp(trade["entry_time"])
    JournalStore().save(
        backtest_target(run_id, 1),
        symbol="SPY",
        trade_time=entry_time.isoformat(),
        notes="waited for the weekly close",
        tags=["patience"],
    )

    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    (marker,) = [t for t in chart_traces(at.get("plotly_chart")[0]) if t.get("name") == "Journal"]
    assert pd.Timestamp(marker["x"][0]) == entry_time
    assert float(marker["y"][0]) == pytest.approx(float(result.equity.loc[:entry_time].iloc[-1]))
    assert "waited for the weekly close" in marker["text"][0]

    at.session_state["bt_tabs"] = "Prices & trades"
    at.run()
    assert_clean(at)
    (on_price,) = [t for t in chart_traces(at.get("plotly_chart")[0]) if t.get("name") == "Journal"]
    assert pd.Timestamp(on_price["x"][0]) == entry_time
    assert float(on_price["y"][0]) == pytest.approx(float(trade["entry_price"]))

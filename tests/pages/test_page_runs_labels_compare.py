"""The Runs page edits a run's name, tags and notes and filters by tag; comparing runs of different periods
aligns them on the common period (and says so) or shows each on its own dates."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, chart_traces, page


def _save(store: RunStore, start: str, end: str, fast: int) -> str:
    request = BacktestRequest(
        strategy="sma_cross", params={"fast": fast, "slow": 50}, symbols=("SPY",), start=start, end=end
    )
    return store.save(run_request(request), request)


@pytest.fixture
def stored(workspace):
    store = RunStore()
    return store, [_save(store, "2015-01-01", "2019-12-31", 10), _save(store, "2017-06-01", "2021-12-31", 20)]


def test_edit_name_tags_notes_and_filter_by_tag(stored) -> None:
    store, ids = stored
    at = page("runs")
    at.run()
    at.multiselect(key="runs_selected").set_value([ids[0]]).run()
    at.text_input(key=f"runs_name_{ids[0]}").input("low fast")
    at.text_input(key=f"runs_tags_{ids[0]}").input("momentum, keep")
    at.text_area(key=f"runs_notes_{ids[0]}").input("robust to costs")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert_clean(at)
    run = store.load(ids[0])
    assert (run.name, run.tags, run.notes) == ("low fast", ("keep", "momentum"), "robust to costs")
    table = at.dataframe[0].value.set_index("id")
    assert table.loc[ids[0], "name"] == "low fast" and table.loc[ids[0], "tags"] == "keep,momentum"
    at.selectbox(key="runs_tag").set_value("momentum").run()
    assert list(at.dataframe[0].value["id"]) == [ids[0]]


def test_compare_aligns_on_the_common_period_or_own_dates(stored) -> None:
    store, ids = stored
    runs = [store.load(i) for i in ids]
    at = page("runs")
    at.run()
    at.multiselect(key="runs_selected").set_value(ids).run()
    assert_clean(at)
    start = max(r.result.equity.index[0] for r in runs)
    end = min(r.result.equity.index[-1] for r in runs)
    captions = " ".join(c.value for c in at.caption)
    assert f"Aligned on the common period {start:%Y-%m-%d}..{end:%Y-%m-%d}" in captions
    traces = chart_traces(at.get("plotly_chart")[0])
    for trace, run in zip(traces, runs):
        eq = run.result.equity
        stored_part = eq[(eq.index >= start) & (eq.index <= end)]
        assert pd.Timestamp(trace["x"][0]) == start and pd.Timestamp(trace["x"][-1]) == end
        assert list(trace["y"]) == pytest.approx(list(stored_part / stored_part.iloc[0]), rel=1e-12)
    # differences of percentage metrics are in percentage points
    diffs = next(d.value for d in at.dataframe if any(" - " in str(c) for c in d.value.columns))
    total = runs[1].result.metrics["total_return"] - runs[0].result.metrics["total_return"]
    assert diffs.iloc[:, 0]["Total return (pp)"] == f"{total * 100:+.2f} pp"

    at.toggle(key="runs_cmp_common").set_value(False).run()
    assert_clean(at)
    assert "own dates" in " ".join(c.value for c in at.caption)
    traces = chart_traces(at.get("plotly_chart")[0])
    for trace, run in zip(traces, runs):
        assert pd.Timestamp(trace["x"][0]) == run.result.equity.index[0]

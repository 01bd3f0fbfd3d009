"""The Runs page lists stored runs, filters them, opens one, compares several and deletes with confirmation."""

from __future__ import annotations

import pytest

from engine.config import BacktestConfig, Costs
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, chart_traces, column_config, frame, metric_rows, page, shown_text
from ui.result_view import format_metric


def _save(store: RunStore, strategy: str, params: dict, symbols: tuple[str, ...], slippage: float = 0.0) -> str:
    request = BacktestRequest(
        strategy=strategy,
        params=params,
        symbols=symbols,
        start="2018-01-01",
        end="2021-12-31",
        config=BacktestConfig(costs=Costs(slippage_bps=slippage)),
    )
    return store.save(run_request(request), request)


@pytest.fixture
def stored(workspace):
    store = RunStore()
    ids = [
        _save(store, "sma_cross", {"fast": 10, "slow": 50}, ("SPY",)),
        _save(store, "sma_cross", {"fast": 20, "slow": 100}, ("SPY",), slippage=5.0),
        _save(store, "buy_and_hold", {}, ("GLD", "TLT")),
    ]
    return store, ids


def test_empty_store_says_so(workspace) -> None:
    at = page("runs")
    at.run()
    assert_clean(at)
    assert "No saved runs yet" in at.info[0].value


def test_lists_and_filters_runs(stored) -> None:
    store, ids = stored
    at = page("runs")
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert sorted(table["id"]) == sorted(ids)
    # timestamps as timestamps, shown with a display format (no "T00:00:00" or microseconds)
    assert str(table["created_at"].dtype).startswith("datetime64") and table["created_at"].dt.tz is not None
    cfg = column_config(at.dataframe[0])
    assert cfg["created_at"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert cfg["start"]["type_config"]["format"] == cfg["end"]["type_config"]["format"] == "YYYY-MM-DD"
    assert str(table["start"].iloc[0]) == "2018-01-02"
    assert at.dataframe[0].proto.placeholder == "–"
    listed = store.list().set_index("id")
    for row in table.itertuples():
        assert row.sharpe == pytest.approx(listed.loc[row.id, "sharpe"])
    at.selectbox(key="runs_strategy").set_value("sma_cross").run()
    assert sorted(at.dataframe[0].value["id"]) == sorted(ids[:2])
    at.selectbox(key="runs_strategy").set_value("(all)").run()
    at.selectbox(key="runs_symbol").set_value("TLT").run()
    assert list(at.dataframe[0].value["id"]) == [ids[2]]
    at.selectbox(key="runs_symbol").set_value("(all)").run()
    at.selectbox(key="runs_sort").set_value("sharpe").run()
    sharpes = list(at.dataframe[0].value["sharpe"])
    assert sharpes == sorted(sharpes, reverse=True)


def test_open_one_run(stored) -> None:
    store, ids = stored
    at = page("runs")
    at.run()
    at.multiselect(key="runs_selected").set_value([ids[0]]).run()
    assert_clean(at)
    shown = metric_rows(at)
    expected = store.load(ids[0]).result.metrics
    assert shown.loc["total_return", "Strategy"] == pytest.approx(expected["total_return"], rel=1e-12)
    assert ids[0] in " ".join(c.value for c in at.caption)


def test_compare_runs(stored) -> None:
    store, ids = stored
    at = page("runs")
    at.run()
    at.multiselect(key="runs_selected").set_value(ids[:2]).run()
    assert_clean(at)
    side = metric_rows(at)
    runs = [store.load(i) for i in ids[:2]]
    assert list(side.columns) == [f"{r.id[:8]} {r.result.strategy}" for r in runs]
    for col, run in zip(side.columns, runs):
        assert side.loc["sharpe", col] == pytest.approx(run.result.metrics["sharpe"], rel=1e-12)
        assert side.loc["max_drawdown", col] == pytest.approx(run.result.metrics["max_drawdown"], rel=1e-12)
    # shown in the single-run view's formats: percentages, counts, ratios; "–" where a run lacks a metric
    side_el = next(d for d in at.dataframe if d.value.index.name == "metric")
    text = metric_rows(at, shown_text)
    for col, run in zip(side.columns, runs):
        for name in ("total_return", "max_drawdown", "sharpe", "n_trades", "final_equity"):
            assert text.loc[name, col] == format_metric(name, run.result.metrics[name]), name
    assert text.loc["total_return", side.columns[0]].endswith("%")
    assert side_el.proto.placeholder == "–"
    diff = frame(at, "field")
    assert set(diff.index) == {"params.fast", "params.slow", "config.costs.slippage_bps"}
    assert list(diff.loc["params.fast"]) == ["10", "20"]
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # overlaid equity and drawdowns
    traces = chart_traces(charts[0])
    assert len(traces) == 2
    first = runs[0].result.equity
    assert list(traces[0]["y"]) == pytest.approx(list(first / first.iloc[0]))


def test_delete_needs_confirmation(stored) -> None:
    store, ids = stored
    at = page("runs")
    at.run()
    at.multiselect(key="runs_selected").set_value([ids[1]]).run()
    assert at.button(key="runs_delete").disabled
    at.checkbox(key="runs_confirm_delete").check().run()
    at.button(key="runs_delete").click().run()
    assert_clean(at)
    assert sorted(store.list()["id"]) == sorted([ids[0], ids[2]])
    assert sorted(at.dataframe[0].value["id"]) == sorted([ids[0], ids[2]])


def test_show_in_the_backtest_page(stored) -> None:
    store, ids = stored
    at = page("runs")
    at.run()
    at.multiselect(key="runs_selected").set_value([ids[1]]).run()
    at.button(key="runs_to_backtest").click().run()
    assert_clean(at)
    assert at.title[0].value == "Backtest"
    assert at.subheader[0].value.startswith(f"Run {ids[1]}:")
    assert ids[1] in " ".join(c.value for c in at.caption)
    shown = metric_rows(at)
    assert shown.loc["sharpe", "Strategy"] == pytest.approx(store.load(ids[1]).result.metrics["sharpe"], rel=1e-12)
    assert at.query_params["run"] in (ids[1], [ids[1]])

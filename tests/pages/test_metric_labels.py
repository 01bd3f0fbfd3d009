"""Metrics on the Backtest and Home pages are named by the registry: row names and column headers are the
registry labels (units included, never snake_case keys), the headline cards carry the definition as tooltip and
the difference to the benchmark in percentage points, and no footnote calls percentages "fractions"."""

from __future__ import annotations

import pytest

from engine.metrics import registry
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, column_config, page


@pytest.fixture
def saved_run(workspace):
    request = BacktestRequest(
        strategy="sma_cross", params={"fast": 10, "slow": 50}, symbols=("SPY",), start="2018-01-01", end="2021-12-31"
    )
    result = run_request(request)
    return RunStore().save(result, request), result


def test_backtest_metrics_table_rows_are_registry_labels(saved_run) -> None:
    run_id, result = saved_run
    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    table = next(d for d in at.dataframe if d.value.index.name == "metric")
    keys = list(result.metrics) + [k for k in result.benchmark_metrics if k not in result.metrics]
    assert list(table.value.index) == [registry.metric(k).label for k in keys]
    assert "Max drawdown duration (bars)" in list(table.value.index)  # a duration names its unit
    assert not any("_" in name for name in table.value.index)
    index_config = column_config(table)["_index"]
    assert index_config["label"] == "Metric"
    assert index_config["width"] >= 8 * max(len(n) for n in table.value.index)  # the longest label fits
    legend = " ".join(e.value for e in at.markdown)
    for key in ("sharpe", "max_drawdown_duration", "up_capture"):
        assert registry.definition(key) in legend
    captions = " ".join(c.value for c in at.caption)
    assert "fraction" not in captions


def test_headline_cards_show_labels_definitions_and_pp_differences(saved_run) -> None:
    run_id, result = saved_run
    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    cards = {m.label: m for m in at.metric}
    assert set(registry.label(k) for k in registry.HEADLINE) <= set(cards)
    total = cards["Total return (%)"]
    assert total.proto.help == registry.definition("total_return")
    gap_pp = (result.metrics["total_return"] - result.benchmark_metrics["total_return"]) * 100
    assert total.delta == f"{gap_pp:+.2f} pp vs benchmark"
    sharpe_gap = result.metrics["sharpe"] - result.benchmark_metrics["sharpe"]
    assert cards["Sharpe (annualized)"].delta == f"{sharpe_gap:+.3f} vs benchmark"


def test_home_runs_table_headers_are_registry_labels_with_definitions(saved_run) -> None:
    at = page("home")
    at.run()
    assert_clean(at)
    runs = next(d for d in at.dataframe if "id" in d.value.columns)
    config = column_config(runs)
    for key in registry.HEADLINE:
        assert config[key]["label"] == registry.metric(key).label, key
        assert config[key]["help"] == registry.metric(key).definition, key
        assert config[key]["width"] >= 8 * len(registry.metric(key).label), key


def test_trade_list_headers_name_their_units(saved_run) -> None:
    run_id, result = saved_run
    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    at.session_state["bt_tabs"] = "Trades"
    at.run()
    assert_clean(at)
    trades = next(d for d in at.dataframe if "pnl" in d.value.columns)
    assert len(trades.value) == len(result.trades) > 0
    config = column_config(trades)
    labels = {col: config[col]["label"] for col in trades.value.columns}
    assert labels["pnl"] == "P&L (currency)" and config["pnl"]["type_config"]["format"] == "%.2f"
    assert labels["return"] == "Return (%)" and config["return"]["type_config"]["format"] == "percent"
    assert labels["bars_held"] == "Held (bars)"
    assert not any("_" in label for label in labels.values()), labels

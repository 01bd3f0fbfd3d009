"""The Backtest page through its widgets: the run it shows is the engine's, it is saved, bad input is caught."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from engine.config import BacktestConfig, Costs
from engine.metrics import registry
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, errors, metric_rows, page


def _fill(
    at, symbols=("SPY", "QQQ"), start=dt.date(2015, 1, 1), end=dt.date(2020, 12, 31), fast=20, slow=100, commission=5.0
):
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(list(symbols))
    at.date_input(key="bt_start").set_value(start)
    at.date_input(key="bt_end").set_value(end)
    at.number_input(key="bt_p_sma_cross_fast").set_value(fast)
    at.number_input(key="bt_p_sma_cross_slow").set_value(slow)
    at.number_input(key="bt_commission").set_value(commission)
    return at


def _run(at):
    return at.button(key="bt_run").click().run()


def test_backtest_through_widgets_matches_engine(workspace) -> None:
    at = page("backtest")
    at.run()
    assert_clean(at)
    assert "No run yet" in " ".join(i.value for i in at.info)
    _run(_fill(at))
    assert_clean(at)

    expected = run_request(
        BacktestRequest(
            strategy="sma_cross",
            params={"fast": 20, "slow": 100},
            symbols=("SPY", "QQQ"),
            start="2015-01-01",
            end="2020-12-31",
            config=BacktestConfig(costs=Costs(commission_bps=5.0)),
        )
    )
    shown = metric_rows(at)
    assert set(expected.metrics) <= set(shown.index)
    for name, value in expected.metrics.items():
        got = shown.loc[name, "Strategy"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-12), name
    for name, value in expected.benchmark_metrics.items():
        got = shown.loc[name, "Benchmark"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-12), name
    assert expected.metrics["n_trades"] > 0  # the strategy really traded in this window

    assert [(s.label.split(":")[0], s.state) for s in at.status] == [("Backtest done", "complete")]
    caption = " ".join(c.value for c in at.caption)
    assert "sma_cross (fast=20, slow=100, weight=1.0, allow_short=False)" in caption and "{" not in caption
    metrics_df = next(d for d in at.dataframe if d.value.index.name == "metric")
    assert metrics_df.proto.placeholder == "–"  # missing benchmark metrics (win rate, trades) show "–"
    assert math.isnan(shown.loc["n_trades", "Benchmark"])
    headline = {m.label: m.value for m in at.metric}
    assert headline[registry.label("total_return")] == f"{expected.metrics['total_return']:.2%}"

    store = RunStore()
    runs = store.list()
    assert len(runs) == 1
    run_id = runs["id"].iloc[0]
    assert at.query_params["run"] == [run_id] or at.query_params["run"] == run_id
    stored = store.load(run_id)
    assert stored.request.symbols == ("SPY", "QQQ") and stored.request.params["fast"] == 20
    assert stored.result.metrics["sharpe"] == pytest.approx(expected.metrics["sharpe"], rel=1e-12)

    # a browser reload is a fresh session with ?run=<id> still in the address: the page shows the stored run again
    again = page("backtest")
    again.query_params["run"] = run_id
    again.run()
    assert_clean(again)
    assert run_id in " ".join(c.value for c in again.caption)
    assert metric_rows(again).loc["sharpe", "Strategy"] == pytest.approx(expected.metrics["sharpe"], rel=1e-12)


@pytest.mark.parametrize(
    "change, expect, status",
    [
        (dict(symbols=()), "no symbols", None),
        (dict(start=dt.date(2020, 1, 1), end=dt.date(2019, 1, 1)), "after end", None),
        (dict(start=dt.date(1970, 1, 1), end=dt.date(1980, 1, 1)), "1980", ("Backtest failed", "error")),
        (dict(fast=60, slow=50), "fast (60) must be shorter than slow (50)", None),
    ],
    ids=["empty-symbols", "start-after-end", "no-data-in-range", "fast-ge-slow"],
)
def test_bad_input_shows_error_and_keeps_saved_runs(workspace, change, expect, status) -> None:
    at = page("backtest")
    at.run()
    _run(_fill(at, end=dt.date(2016, 12, 31)))
    assert_clean(at)
    store = RunStore()
    first = store.list()["id"].tolist()
    assert len(first) == 1

    _run(_fill(at, **{**dict(end=dt.date(2016, 12, 31)), **change}))
    assert not at.exception
    msgs = errors(at)
    assert len(msgs) == 1 and expect in msgs[0], msgs
    assert "Traceback" not in msgs[0]
    assert store.list()["id"].tolist() == first  # nothing saved, nothing lost
    # input errors are caught before the status box opens; a failure inside the run marks the box failed
    shown = [(s.label, s.state) for s in at.status]
    assert shown == ([status] if status else []), shown
    assert "running" not in [state for _, state in shown]
    assert first[0] in " ".join(c.value for c in at.caption)  # the earlier run is still on screen


def test_malformed_upload_shows_per_file_error(workspace) -> None:
    at = page("backtest")
    at.run()
    good = b"date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,12,10,11,1200\n"
    bad = b"date,open,high,low,close,volume\n2024-01-02,10,11,9,abc,1000\n"
    at.file_uploader(key="bt_upload").set_value([("GOOD1.csv", good, "text/csv"), ("BROKEN.csv", bad, "text/csv")])
    at.run()
    at.button(key="bt_upload_go").click().run()
    assert not at.exception
    msgs = errors(at)
    assert len(msgs) == 1 and msgs[0].startswith("BROKEN.csv:"), msgs
    assert any("GOOD1" in s.value for s in at.success)
    assert "GOOD1" in at.multiselect(key="bt_symbols").options
    assert "GOOD1" in at.multiselect(key="bt_symbols").value


def test_save_and_load_preset(workspace) -> None:
    at = page("backtest")
    at.run()
    _run(_fill(at, symbols=("GLD",), fast=15, slow=60, end=dt.date(2016, 12, 31)))
    assert_clean(at)
    at.text_input(key="bt_preset_name").set_value("gld_15_60").run()
    at.button(key="bt_preset_save").click().run()
    assert_clean(at)
    assert any("gld_15_60" in s.value for s in at.success)

    fresh = page("backtest")
    fresh.run()
    fresh.multiselect(key="bt_symbols").set_value(["SPY"]).run()
    fresh.selectbox(key="bt_preset").set_value("gld_15_60").run()
    fresh.button(key="bt_preset_load").click().run()
    assert_clean(fresh)
    assert fresh.multiselect(key="bt_symbols").value == ["GLD"]
    assert fresh.number_input(key="bt_p_sma_cross_fast").value == 15
    assert fresh.number_input(key="bt_p_sma_cross_slow").value == 60
    assert fresh.number_input(key="bt_commission").value == 5.0
    assert fresh.date_input(key="bt_end").value == dt.date(2016, 12, 31)


def test_every_result_tab_draws_the_run(workspace) -> None:
    import numpy as np
    import pandas as pd

    from engine.data import load_market_data
    from tests.pages.page_helpers import chart_traces

    at = page("backtest")
    at.run()
    _run(_fill(at, symbols=("SPY", "TLT"), start=dt.date(2012, 1, 1), end=dt.date(2019, 12, 31), fast=10, slow=40))
    assert_clean(at)
    run = RunStore().latest()
    res = run.result
    bars = load_market_data(["SPY", "TLT"], "2012-01-01", "2019-12-31")

    (equity,) = at.get("plotly_chart")
    traces = chart_traces(equity)
    assert [t["name"] for t in traces] == ["Strategy", str(res.benchmark.name)]
    assert np.allclose(traces[0]["y"], res.equity.to_numpy())

    def open_tab(name):
        at.session_state["bt_tabs"] = name
        at.run()
        assert_clean(at)
        return [chart_traces(c) for c in at.get("plotly_chart")]

    (dd,) = open_tab("Drawdown")
    eq = res.equity.to_numpy()
    assert min(dd[0]["y"]) == pytest.approx(min(v / max(eq[: i + 1]) - 1 for i, v in enumerate(eq)))

    (price,) = open_tab("Prices & trades")
    entries = next(t for t in price if t["name"] == "Entry")
    spy_trades = res.trades[res.trades["symbol"] == "SPY"]
    assert len(spy_trades) > 0
    assert [pd.Timestamp(x) for x in entries["x"]] == sorted(spy_trades["entry_time"])

    (contrib,) = open_tab("Contribution")
    # exact accounting: P&L per symbol sums to final equity - initial cash (cash earns nothing)
    assert sum(contrib[0]["x"]) == pytest.approx(res.equity.iloc[-1] - res.config.initial_cash, rel=1e-9)

    (corr,) = open_tab("Correlation")
    r = bars.close.pct_change().dropna()
    assert np.asarray(corr[0]["z"])[0][1] == pytest.approx(np.corrcoef(r["SPY"], r["TLT"])[0, 1], rel=1e-9)

    monthly, yearly = open_tab("Calendar")
    assert [t["name"] for t in yearly] == ["Strategy", "Benchmark"]
    assert len(open_tab("Rolling")[0]) == 4
    assert [t["name"] for t in open_tab("Exposure")[0]] == ["SPY", "TLT", "gross exposure"]
    open_tab("Trades")
    assert len(at.dataframe[0].value) == len(res.trades)
    assert at.get("download_button")
    open_tab("Export")
    assert at.get("download_button")


def test_trades_csv_and_html_report_downloads(workspace, monkeypatch) -> None:
    import io
    import json
    import re

    import pandas as pd

    from tests.pages.page_helpers import Downloads, _decode, chart_traces, column_config

    downloads = Downloads(monkeypatch)
    at = page("backtest")
    at.run()
    _run(_fill(at, symbols=("SPY",), start=dt.date(2014, 1, 1), end=dt.date(2018, 12, 31), fast=10, slow=40))
    assert_clean(at)
    run = RunStore().latest()
    res = run.result
    (equity_chart,) = at.get("plotly_chart")
    equity_y = chart_traces(equity_chart)[0]["y"]

    at.session_state["bt_tabs"] = "Trades"
    at.run()
    assert_clean(at)
    (table,) = at.dataframe  # the trade list is the tab's only table
    cfg = column_config(table)
    assert cfg["entry_time"]["type_config"]["format"] == "YYYY-MM-DD"  # daily bars: dates, no T00:00:00
    (csv_button,) = at.get("download_button")
    got = pd.read_csv(io.BytesIO(downloads.content(csv_button)), parse_dates=["entry_time", "exit_time"])
    assert len(got) == len(res.trades) > 0
    assert list(got.columns) == list(res.trades.columns)
    assert list(got["entry_time"]) == list(res.trades["entry_time"])
    assert got["pnl"].to_numpy() == pytest.approx(res.trades["pnl"].to_numpy(), rel=1e-12)
    assert list(got["exit_reason"]) == list(res.trades["exit_reason"])

    at.session_state["bt_tabs"] = "Export"
    at.run()
    assert_clean(at)
    (report_button,) = at.get("download_button")
    html = downloads.content(report_button).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and f"IVYBT run {run.id}".lower() in html.lower()
    # in the registry's formats: ratios to 4 decimals, fractions in %
    for name, text in (("sharpe", "{:,.4f}"), ("total_return", "{:.2%}"), ("max_drawdown", "{:.2%}")):
        assert f"<td>{text.format(res.metrics[name])}</td>" in html, name
        assert f"<td>{text.format(res.benchmark_metrics[name])}</td>" in html, name
    config = json.loads(re.search(r"<pre>(.*?)</pre>", html, re.S).group(1).replace("&quot;", '"'))
    assert config["params"] == dict(run.request.params) and config["params"]["slow"] == 40
    assert config["symbols"] == ["SPY"]
    # the figures' data: the first figure (equity) carries the same curve the page drew
    calls = [m.end() for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', html)]
    assert len(calls) == 6
    first, _ = json.JSONDecoder().raw_decode(html, calls[0])

    assert [t["name"] for t in first][:1] == ["Strategy"]
    assert list(_decode(first[0]["y"])) == pytest.approx(list(equity_y), rel=1e-12)
    assert (workspace / "artifacts" / f"report_{run.id}.html").read_text(encoding="utf-8") == html

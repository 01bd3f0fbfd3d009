"""The HTML report: self-contained (Plotly inlined once), metrics beside the benchmark, the config, trades."""

from __future__ import annotations

import json
import re

import pytest

from engine.config import BacktestConfig, Costs
from engine.request import BacktestRequest, run_request
from ui.compare import config_diff, flatten
from ui.report import build_report_html, metrics_frame, write_report


@pytest.fixture
def run(home):
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 30},
        symbols=("SPY",),
        start="2019-01-01",
        end="2020-12-31",
        config=BacktestConfig(costs=Costs(slippage_bps=2)),
    )
    return request, run_request(request)


def test_metrics_frame_pairs_strategy_and_benchmark(run) -> None:
    _, result = run
    table = metrics_frame(result)
    assert list(table.columns) == ["Strategy", "Benchmark"]
    assert table.loc["sharpe", "Strategy"] == result.metrics["sharpe"]
    assert table.loc["sharpe", "Benchmark"] == result.benchmark_metrics["sharpe"]
    # the benchmark's total return is buy-and-hold: last close / first close - 1, worked out from the equity
    bench = result.benchmark
    assert table.loc["total_return", "Benchmark"] == pytest.approx(bench.iloc[-1] / result.config.initial_cash - 1)


def test_report_is_self_contained_and_written_to_artifacts(run, tmp_path) -> None:
    request, result = run
    path = write_report(result, request, "abc123")
    assert path.parent == tmp_path / "ws" / "artifacts" and path.name == "report_abc123.html"
    html = path.read_text()
    # plotly.js is inlined exactly once (opens offline), and every figure is drawn from it
    assert html.count("plotly.js v") == 1 and html.count("window.PlotlyConfig") == 1 and len(html) > 3_000_000
    assert html.count("Plotly.newPlot") == 6
    config = json.loads(re.search(r"<pre>(.*?)</pre>", html, re.S).group(1).replace("&quot;", '"'))
    assert config["params"] == {"fast": 10, "slow": 30} and config["config"]["costs"]["slippage_bps"] == 2
    assert f"{result.metrics['sharpe']:,.4f}" in html
    assert f"Trades ({len(result.trades)})" in html
    assert not list(path.parent.glob("*.tmp"))


def test_build_report_accepts_custom_figures(run) -> None:
    import plotly.graph_objects as go

    request, result = run
    html = build_report_html(result, request, figures={"Only": go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))})
    assert html.count("Plotly.newPlot") == 1 and "<h2>Only</h2>" in html


def test_flatten_and_config_diff_helpers() -> None:
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": "1, 2", "d": None}
    assert config_diff([]).empty

"""The HTML report names metrics by the registry (label with unit, definition as hover text), shows each in its
registry format (percentages in %, currency to 2 decimals) and writes P&L to cents."""

from __future__ import annotations

import re
from html import unescape

import pytest

from engine.metrics import registry
from engine.request import BacktestRequest, run_request
from ui.report import build_report_html


@pytest.fixture
def run(home):
    request = BacktestRequest(
        strategy="sma_cross", params={"fast": 10, "slow": 30}, symbols=("SPY",), start="2019-01-01", end="2020-12-31"
    )
    return request, run_request(request)


def _metric_rows(page: str) -> dict[str, tuple[str, list[str]]]:
    """label -> (hover text, cell texts) of the report's metrics table."""
    table = re.search(r"<table class='metrics'>(.*?)</table>", page, re.S).group(1)
    rows = re.findall(r"<tr><th title='(.*?)'>(.*?)</th>(.*?)</tr>", table, re.S)
    return {
        unescape(name): (unescape(title), [unescape(c) for c in re.findall(r"<td>(.*?)</td>", cells)])
        for title, name, cells in rows
    }


def test_report_metrics_are_labelled_defined_and_formatted(run) -> None:
    request, result = run
    rows = _metric_rows(build_report_html(result, request, figures={}))
    assert list(rows) == [registry.label(k) for k in result.metrics]
    title, (strategy, benchmark) = rows["Total return (%)"]
    assert title == registry.definition("total_return")
    assert strategy == f"{result.metrics['total_return'] * 100:.2f}%"
    assert benchmark == f"{result.benchmark_metrics['total_return'] * 100:.2f}%"
    equity = rows["Final equity (currency)"][1][0]
    assert equity == f"{result.equity.iloc[-1]:,.2f}"  # currency: 2 decimals, thousands separators
    assert rows["Trades (count)"][1] == [f"{len(result.trades)}", ""]  # the benchmark has no trades: blank
    assert "Max drawdown duration (bars)" in rows


def test_report_trade_pnl_in_cents_and_returns_in_percent(run) -> None:
    request, result = run
    table = build_report_html(result, request, figures={}).split("<h2>Trades")[1]
    headers = [unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    rows = [[unescape(c) for c in re.findall(r"<td>(.*?)</td>", r)] for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)]
    rows = [r for r in rows if r]
    assert len(rows) == len(result.trades) > 0
    pnl, ret = headers.index("pnl"), headers.index("return")
    assert [r[pnl] for r in rows] == [f"{v:,.2f}" for v in result.trades["pnl"]]
    assert [r[ret] for r in rows] == [f"{v * 100:.2f}%" for v in result.trades["return"]]

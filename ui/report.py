"""A self-contained HTML report of one run: metrics beside the benchmark, the configuration, figures, trades.

No Streamlit calls: the Backtest and Runs pages offer it as a download, the CLI or a batch could write it too.
Plotly's JavaScript is inlined once, so the file opens offline.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from engine.metrics import registry
from engine.request import BacktestRequest
from engine.sim.result import BacktestResult
from engine.store.workspace import artifacts_dir
from ui import charts

MAX_TRADES = 500

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#1f2937}
h1{margin-bottom:4px} .sub{color:#6b7280;margin-top:0}
table{border-collapse:collapse;font-size:13px;margin:8px 0 24px} td,th{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left} pre{background:#f3f5f9;padding:12px;overflow:auto;font-size:12px}
.fig{margin:12px 0 28px}
"""


def metrics_frame(result: BacktestResult) -> pd.DataFrame:
    """Metrics of the strategy beside the benchmark's (rows = metric names, float values; NaN where missing)."""
    names = list(result.metrics) + [k for k in result.benchmark_metrics if k not in result.metrics]
    return pd.DataFrame(
        {
            "Strategy": [_float(result.metrics.get(n)) for n in names],
            "Benchmark": [_float(result.benchmark_metrics.get(n)) for n in names],
        },
        index=pd.Index(names, name="metric"),
    )


def metrics_html(table: pd.DataFrame) -> str:
    """A metrics table (rows = metric keys) as HTML: each row named by its registry label (unit included) with
    the definition as hover text, values in the registry's format (% for fractions, currency to 2 decimals),
    empty cells for missing values."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for key, values in table.iterrows():
        name = str(key)
        cells = "".join(
            f"<td>{html.escape(registry.format_value(name, v, missing='', ratio_digits=4))}</td>" for v in values
        )
        title = html.escape(registry.definition(name), quote=True)
        rows.append(f"<tr><th title='{title}'>{html.escape(registry.label(name))}</th>{cells}</tr>")
    return f"<table class='metrics'><thead><tr><th>Metric</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _trade_formats(trades: pd.DataFrame) -> dict[str, Any]:
    """Per-column text of the trade list: P&L in currency to 2 decimals, returns in %, other numbers to 4."""

    def text(spec: str) -> Any:
        return lambda v: "" if v is None or pd.isna(v) else format(v, spec)

    out: dict[str, Any] = {}
    for col in trades.columns:
        if col == "pnl":
            out[col] = text(",.2f")
        elif col == "return":
            out[col] = text(".2%")
        elif pd.api.types.is_float_dtype(trades[col]):
            out[col] = text(",.4f")
    return out


def report_figures(result: BacktestResult) -> dict[str, go.Figure]:
    """The figures of the report, built from the stored result alone (no market data needed)."""
    bench = result.benchmark
    bench_returns = bench.pct_change().fillna(0.0) if bench is not None else None
    ppy = float(result.config.periods_per_year)
    return {
        "Equity": charts.equity_figure(result.equity, bench),
        "Drawdown": charts.drawdown_figure(result.equity, bench),
        "Monthly returns": charts.monthly_heatmap_figure(result.returns),
        "Yearly returns": charts.yearly_returns_figure(result.returns, bench_returns),
        "Rolling Sharpe and volatility": charts.rolling_figure(result.returns, 126, ppy, bench_returns),
        "Weights and exposure": charts.weights_figure(result.weights),
    }


def build_report_html(
    result: BacktestResult,
    request: BacktestRequest,
    run_id: str | None = None,
    figures: Mapping[str, go.Figure] | None = None,
) -> str:
    """The report as one HTML string (figures interactive, Plotly inlined once)."""
    figures = dict(figures) if figures is not None else report_figures(result)
    title = f"IvyBT run {run_id}" if run_id else "IvyBT run"
    span = f"{result.equity.index[0]:%Y-%m-%d} .. {result.equity.index[-1]:%Y-%m-%d}" if len(result.equity) else ""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='sub'>{html.escape(result.strategy)} on {html.escape(', '.join(result.symbols))}, {span}; "
        f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>",
        "<h2>Metrics</h2>",
        metrics_html(metrics_frame(result)),
        "<h2>Configuration</h2>",
        f"<pre>{html.escape(json.dumps(request.to_dict(), indent=2, default=str))}</pre>",
    ]
    first = True
    for name, fig in figures.items():
        fig = go.Figure(fig)
        fig.update_layout(template="plotly_white", paper_bgcolor="white", plot_bgcolor="white")
        parts.append(f"<h2>{html.escape(name)}</h2><div class='fig'>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=True if first else False))
        parts.append("</div>")
        first = False
    trades = result.trades
    parts.append(f"<h2>Trades ({len(trades)})</h2>")
    if len(trades) > MAX_TRADES:
        parts.append(f"<p class='sub'>first {MAX_TRADES} shown</p>")
    parts.append(trades.head(MAX_TRADES).to_html(index=False, border=0, formatters=_trade_formats(trades)))
    parts.append("</body></html>")
    return "".join(parts)


def write_report(
    result: BacktestResult, request: BacktestRequest, run_id: str | None = None, folder: Path | None = None
) -> Path:
    """Write the report to the workspace's artifacts folder (atomic: temp file + rename); return its path."""
    folder = folder or artifacts_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"report_{run_id or stamp}.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(build_report_html(result, request, run_id), encoding="utf-8")
    tmp.replace(path)
    return path


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

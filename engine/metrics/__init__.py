"""Performance metrics, computed column-wise over many equity curves at once.

`registry` lists every metric once (key, label, unit, format, direction, annualization, implementation);
`metrics_table` takes a (bars x K) equity array (the optimizer's K parameter sets, or K = 1) and returns one
row of metrics per column; `backtest_metrics` is the same for one curve as a dict. Each metric is a small pure
function in `curve` (equity and returns), `benchmark` (beta, alpha, tracking error, information ratio, capture)
or `activity` (trades, exposure, turnover) whose docstring states its units, annualization and bar timing.
"""

from __future__ import annotations

from engine.metrics.curve import drawdown, returns_from_equity
from engine.metrics.registry import METRICS, Metric, format_value, metric
from engine.metrics.table import METRIC_NAMES, backtest_metrics, metric_columns, metrics_table

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "Metric",
    "backtest_metrics",
    "drawdown",
    "format_value",
    "metric",
    "metric_columns",
    "metrics_table",
    "returns_from_equity",
]

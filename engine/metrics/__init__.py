"""Performance metrics, computed column-wise over many equity curves at once.

`metrics_table` takes a (bars x K) equity array (the optimizer's K parameter sets, or K = 1) and returns one
row of metrics per column; `backtest_metrics` is the same for one curve as a dict. Each metric is a small pure
function in `curve` (equity and returns), `benchmark` (beta, alpha) or `activity` (trades, exposure,
turnover) whose docstring states its units, annualization and bar timing.
"""

from __future__ import annotations

from engine.metrics.curve import drawdown, returns_from_equity
from engine.metrics.table import METRIC_NAMES, backtest_metrics, metric_columns, metrics_table

__all__ = ["METRIC_NAMES", "backtest_metrics", "drawdown", "metric_columns", "metrics_table", "returns_from_equity"]

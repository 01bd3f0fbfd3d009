"""`BacktestResult`: everything one backtest produced, as plain pandas objects."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from engine.config import BacktestConfig

TRADE_COLUMNS: tuple[str, ...] = (
    "symbol", "side", "entry_time", "entry_price", "exit_time", "exit_price", "quantity",
    "pnl", "return", "bars_held", "exit_reason",
)
FILL_COLUMNS: tuple[str, ...] = ("time", "symbol", "quantity", "price", "commission", "reason")


@dataclass
class BacktestResult:
    """The outcome of `run_backtest`.

    equity: account equity marked at every close (index = bars).
    returns: equity[t] / equity[t-1] - 1, with equity[-1] = initial cash (so returns[0] covers bar 0).
    weights: target weights as simulated (after caps and leverage scaling), decided at each bar's close.
    positions: units held at each close (bars x symbols). cash: cash at each close.
    trades: one row per round trip (TRADE_COLUMNS); an open trade at the end has exit_reason "open"
        and is marked at the last close. fills: every fill (FILL_COLUMNS).
    metrics: name -> value (see engine.metrics). benchmark: buy-and-hold equity of the benchmark symbol.
    """

    config: BacktestConfig
    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    equity: pd.Series
    returns: pd.Series
    cash: pd.Series
    weights: pd.DataFrame
    positions: pd.DataFrame
    trades: pd.DataFrame
    fills: pd.DataFrame
    metrics: dict[str, float]
    benchmark: pd.Series | None = None
    benchmark_metrics: dict[str, float] = field(default_factory=dict)

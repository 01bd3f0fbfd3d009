"""The columns a screen can compute per symbol, each from the bars up to the screen's as-of bar only.

A column key names its kind and, for most, a window N in bars (`rsi_14`):

- `close`: the last close.
- `rsi_N`: pandas-ta RSI(N) on the last bar (0-100).
- `momentum_N`: close / close N bars earlier - 1 (the symbol's own bars).
- `sma_dist_N`: close / pandas-ta SMA(N) - 1 (0.05 = 5 % above the average).
- `vol_N`: realized volatility, the sample std (ddof=1) of the last N simple returns x sqrt(252).
- any metric of engine.metrics.registry (kind curve or benchmark), optionally `_N` for its lookback
  (`sharpe_126`; a plain key uses the screen's lookback): the symbol bought and held over the last N bars,
  benchmark metrics against the screen's benchmark.
- `signal:STRATEGY` / `preset:NAME`: today's target weight of the strategy (default params) or the preset
  (its strategy, params and config) run on the screen's universe up to the as-of bar.
- `regime`: the voltrend regime label of engine.strategies.regimes (when that module is installed).

`INDICATORS` is the extension point for a new per-symbol indicator: a name, its default window and a function
of (close on the symbol's own bars, N) -> float (see docs/extending.md).
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.metrics import registry
from engine.metrics.table import metrics_table
from engine.sim.simulate import run_backtest
from engine.store.presets import load_preset
from engine.strategies.common import indicator, ta
from engine.strategies.registry import create_strategy

TRADING_DAYS = 252
REGIME_MODULE = "engine.strategies.regimes"


@dataclass(frozen=True)
class Indicator:
    """A per-symbol column `NAME_N`: `function(close on the symbol's own bars up to as-of, N)` -> float."""

    name: str
    default: int
    function: Callable[[pd.Series, int], float]
    description: str


def _last(values: pd.Series | None, index: pd.Index) -> float:
    series = indicator(values, index)
    return float(series.iloc[-1]) if len(series) else math.nan


def rsi(close: pd.Series, n: int) -> float:
    return _last(ta.rsi(close, length=n), close.index)


def momentum(close: pd.Series, n: int) -> float:
    return float(close.iloc[-1] / close.iloc[-1 - n] - 1.0) if len(close) > n else math.nan


def sma_distance(close: pd.Series, n: int) -> float:
    sma = _last(ta.sma(close, length=n, talib=False), close.index)
    return float(close.iloc[-1] / sma - 1.0) if np.isfinite(sma) and sma != 0 else math.nan


def realized_vol(close: pd.Series, n: int) -> float:
    returns = close.pct_change().iloc[-n:]
    if len(close) <= n or n < 2:
        return math.nan
    return float(returns.std(ddof=1) * math.sqrt(TRADING_DAYS))


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator("rsi", 14, rsi, "RSI(N) on the last bar (0-100, pandas-ta)"),
        Indicator("momentum", 126, momentum, "close / close N bars earlier - 1 (fraction)"),
        Indicator("sma_dist", 200, sma_distance, "close / SMA(N) - 1 (fraction above the average)"),
        Indicator("vol", 21, realized_vol, "std of the last N simple returns x sqrt(252) (fraction per year)"),
    )
}
_WINDOW_RE = re.compile(r"^(?P<base>.+?)_(?P<n>\d+)$")


@dataclass(frozen=True)
class Column:
    """A parsed column key: kind ("close", "indicator", "metric", "signal", "preset", "regime"), the name
    within it (indicator, metric key, strategy or preset) and its window N (0 when it has none)."""

    key: str
    kind: str
    name: str
    n: int = 0


def regime_available() -> bool:
    """Whether the regime module (engine.strategies.regimes) is installed; without it `regime` is refused."""
    return importlib.util.find_spec(REGIME_MODULE) is not None


def parse_column(key: str, lookback: int) -> Column:
    """`key` as a Column (see the module docstring); ConfigError naming it and the known kinds otherwise."""
    text = str(key).strip()
    if text == "close":
        return Column(text, "close", "close")
    if text == "regime":
        if not regime_available():
            raise ConfigError("column 'regime': the regime module engine.strategies.regimes is not installed")
        return Column(text, "regime", "voltrend")
    for prefix in ("signal:", "preset:"):
        if text.startswith(prefix) and text[len(prefix) :].strip():
            return Column(text, prefix[:-1], text[len(prefix) :].strip())
    if text in INDICATORS:
        return Column(text, "indicator", text, INDICATORS[text].default)
    if _metric_ok(text):
        return Column(text, "metric", text, lookback)
    m = _WINDOW_RE.match(text)
    if m:
        base, n = m.group("base"), int(m.group("n"))
        if n < 1:
            raise ConfigError(f"column {key!r}: the window must be >= 1 bar")
        if base in INDICATORS:
            return Column(text, "indicator", base, n)
        if _metric_ok(base):
            return Column(text, "metric", base, n)
    raise ConfigError(
        f"column {key!r} is unknown; use close, regime, {', '.join(f'{k}_N' for k in INDICATORS)}, a metric key "
        f"(e.g. sharpe or sharpe_126), signal:STRATEGY or preset:NAME"
    )


def _metric_ok(key: str) -> bool:
    try:
        m = registry.metric(key)
    except ConfigError:
        return False
    return m.kind in ("curve", "benchmark") and key in registry.KEYS


def compute_column(column: Column, data: MarketData, benchmark_returns: pd.Series) -> pd.Series:
    """The column's value per symbol of `data` (already cut at the as-of bar), indexed by symbol."""
    if column.kind == "signal":
        return target_weights(data, column.name, None)
    if column.kind == "preset":
        return target_weights(data, None, column.name)
    out: dict[str, float | str] = {}
    for sym in data.symbols:
        close = data.close[sym].dropna()
        if close.empty:
            out[sym] = math.nan
        elif column.kind == "close":
            out[sym] = float(close.iloc[-1])
        elif column.kind == "indicator":
            out[sym] = INDICATORS[column.name].function(close, column.n)
        elif column.kind == "metric":
            out[sym] = _metric(close, column, benchmark_returns)
        else:
            out[sym] = _regime(close)
    return pd.Series(out, name=column.key)


def _metric(close: pd.Series, column: Column, benchmark_returns: pd.Series) -> float:
    """The metric of holding the symbol over its last N bars (bar 0 of the window is the first return)."""
    if len(close) < 2:
        return math.nan
    window = close.iloc[-(column.n + 1) :]
    equity = window.iloc[1:]
    table = metrics_table(
        equity.to_frame("x"),
        initial_cash=float(window.iloc[0]),
        benchmark_returns=benchmark_returns.reindex(equity.index),
    )
    return float(table[column.name].iloc[0])


def _regime(close: pd.Series) -> str | float:
    module = importlib.import_module(REGIME_MODULE)
    labels = module.regime_labels(close, module.RegimeModel())
    last = labels.iloc[-1]
    return last if isinstance(last, str) else math.nan


def target_weights(data: MarketData, strategy: str | None, preset: str | None) -> pd.Series:
    """Today's target weight per symbol: the strategy (default params) or the preset's strategy, params and
    config run through the simulator on `data`; the weights decided at the last bar's close."""
    if preset is not None:
        p = load_preset(preset)
        strat, config = create_strategy(p.strategy, p.params), p.backtest_config()
        label = f"preset:{preset}"
    else:
        strat, config, label = create_strategy(str(strategy), {}), None, f"signal:{strategy}"
    result = run_backtest(data, strat, config)
    last = result.weights.iloc[-1].reindex(data.symbols).fillna(0.0)
    return pd.Series(last.to_numpy(dtype=np.float64), index=list(data.symbols), name=label)

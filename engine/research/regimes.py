"""Regimes of a symbol and the performance of a run split by regime.

`symbol_regimes` labels a symbol's bars with a regime model (`engine.strategies.regimes`: each label from the
data up to its bar). `performance_by_regime` splits a run's per-bar returns by the regime **in force over the
bar**: the return of bar t (close t-1 to close t) belongs to the regime known at close t-1, when the position
held over bar t was decided. Each regime's bars, chained in time order, are measured with the metric
registry's own functions (count, total return, annualized return, volatility, Sharpe, max drawdown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data import load_market_data
from engine.metrics.registry import REGIME_TABLE, Inputs, metric
from engine.store.runs import RunStore
from engine.strategies.regimes import RegimeModel, regime_labels

TABLE_METRICS: tuple[str, ...] = REGIME_TABLE
"""The registry metrics of each regime's row (a named selection of the registry)."""
ALL = "all bars"


def symbol_regimes(
    symbol: str, model: RegimeModel, start: str | None = None, end: str | None = None, source: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """(close, regime label) on the symbol's own bars between start and end (labels from its whole history up to
    each bar: the warm-up may lie before `start`)."""
    data = load_market_data([symbol], None, end, source)
    close = data.close.iloc[:, 0].dropna()
    labels = regime_labels(close, model)
    if start is not None:
        keep = close.index >= pd.Timestamp(start)
        close, labels = close[keep], labels[keep]
    return close, labels


def in_force(labels: pd.Series, index: pd.Index) -> pd.Series:
    """The regime in force over each bar of `index`: the label of the symbol's last bar strictly before it
    (NaN when there is none, or when that label is undefined)."""
    pos = labels.index.searchsorted(pd.DatetimeIndex(index), side="left") - 1
    values = labels.to_numpy(dtype=object)[np.maximum(pos, 0)] if len(labels) else np.full(len(index), np.nan)
    values = np.where(pos >= 0, values, np.nan)
    return pd.Series(values, index=index, dtype=object, name="regime")


def _row(returns: np.ndarray, periods_per_year: float) -> dict[str, float]:
    n = len(returns)
    out = {"bars": float(n)}
    if n == 0:
        return out | dict.fromkeys(TABLE_METRICS, np.nan)
    equity = np.cumprod(1.0 + returns)[:, None]
    inputs = Inputs(
        equity=equity, initial_cash=np.ones(1), periods_per_year=periods_per_year, years=n / periods_per_year
    )
    return out | {key: float(metric(key).compute(inputs)[0]) for key in TABLE_METRICS}


def performance_by_regime(
    returns: pd.Series, regimes: pd.Series, order: Sequence[str] = (), periods_per_year: float = 252.0
) -> pd.DataFrame:
    """One row per regime (in `order`, then any other label), and a last row for every bar: bars, share of the
    bars, and TABLE_METRICS of the regime's returns chained in time order. `regimes` is the regime in force over
    each bar of `returns` (same index; NaN = undefined, counted in the last row only)."""
    r = returns.to_numpy(dtype="float64")
    lab = regimes.reindex(returns.index).to_numpy(dtype=object)
    seen = [x for x in pd.unique(lab) if isinstance(x, str)]
    names = [x for x in order if x in seen] + sorted(x for x in seen if x not in order)
    rows = {name: _row(r[lab == name], periods_per_year) for name in names}
    rows[ALL] = _row(r, periods_per_year)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.insert(1, "share", table["bars"] / max(len(r), 1))
    table.index.name = "regime"
    return table


@dataclass(frozen=True)
class RegimeReport:
    """A symbol's regimes and, when a run was given, the run's performance by regime."""

    symbol: str
    model: RegimeModel
    close: pd.Series
    labels: pd.Series
    run_id: str | None = None
    table: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, object]:
        counts = self.labels.value_counts()
        return {
            "symbol": self.symbol,
            "method": self.model.method,
            "bars": len(self.labels),
            "regimes": {k: int(counts.get(k, 0)) for k in self.model.labels},
            "current": None if self.labels.empty or pd.isna(self.labels.iloc[-1]) else self.labels.iloc[-1],
            "run": self.run_id,
            "by_regime": None if self.table is None else self.table.reset_index().to_dict(orient="records"),
        }


def regime_report(
    symbol: str,
    model: RegimeModel,
    run_id: str | None = None,
    start: str | None = None,
    end: str | None = None,
    store: RunStore | None = None,
) -> RegimeReport:
    """Regimes of `symbol` (over the run's dates when a stored run is given, with its performance by regime)."""
    if run_id is None:
        close, labels = symbol_regimes(symbol, model, start, end)
        return RegimeReport(symbol, model, close, labels)
    run = (store or RunStore()).load(run_id)
    returns = run.result.returns
    first, last = returns.index[0], returns.index[-1]
    close, labels = symbol_regimes(symbol, model, None, str(last), run.request.data_source)
    table = performance_by_regime(
        returns, in_force(labels, returns.index), model.labels, run.result.config.periods_per_year
    )
    keep = close.index >= first
    return RegimeReport(symbol, model, close[keep], labels[keep], run.id, table)

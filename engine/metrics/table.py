"""`metrics_table` (many equity curves at once) and `backtest_metrics` (one curve): checks inputs, then
calls the small pure metric functions of `curve`, `benchmark` and `activity`.

The optimizer simulates thousands of parameter sets as the columns of one (T, K) equity array and gets
every metric for all of them in one call; a single backtest is the same call with K = 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.metrics import activity, curve
from engine.metrics.fused import FUSED_NAMES, fused_metrics
from engine.metrics.registry import KEYS, METRICS, Inputs

#: Every metric key, in display order (the registry's).
METRIC_NAMES: tuple[str, ...] = KEYS


def _equity_array(equity: Any) -> tuple[np.ndarray, pd.Index, pd.Index | None]:
    """(T, K) float64 values, row labels of the result (one per curve) and the time index if any."""
    labels: pd.Index
    index: pd.Index | None = None
    try:
        if isinstance(equity, pd.DataFrame):
            values, labels, index = equity.to_numpy(dtype=np.float64), equity.columns, equity.index
        elif isinstance(equity, pd.Series):
            values, index = equity.to_numpy(dtype=np.float64)[:, None], equity.index
            labels = pd.Index([0 if equity.name is None else equity.name])
        else:
            values = np.asarray(equity, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"equity: not numeric ({e})") from e
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ConfigError(f"equity: expected a (bars, columns) array, got shape {values.shape}")
    if not isinstance(equity, (pd.DataFrame, pd.Series)):
        labels = pd.RangeIndex(values.shape[1])
    _check_finite("equity", values, index)
    return values, labels, index


def _check_finite(name: str, values: np.ndarray, index: pd.Index | None = None) -> None:
    """Raise ConfigError naming the first row and column holding NaN or inf."""
    if np.isfinite(values).all():  # the usual case, without the mask's negation (~0.3 ms at 1M bars)
        return
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        when = f" ({index[row]})" if index is not None and len(index) == len(values) else ""
        raise ConfigError(
            f"{name}: {values[row, col]} at row {row}{when}, column {col}; expected finite "
            "values (the simulator marks equity at every close, so a curve has no gaps)"
        )


def _cash_array(initial_cash: Any, k: int) -> np.ndarray:
    cash = np.asarray(initial_cash, dtype=np.float64)
    if cash.ndim > 1 or (cash.ndim == 1 and cash.shape[0] != k):
        raise ConfigError(f"initial_cash: expected a number or {k} values (one per column), got shape {cash.shape}")
    cash = np.broadcast_to(cash, (k,))
    bad = ~(np.isfinite(cash) & (cash > 0))
    if bad.any():
        col = int(np.argmax(bad))
        raise ConfigError(f"initial_cash: {cash[col]} (column {col}) must be a positive number")
    return cash


def _panel(name: str, values: Any, shape: tuple[int, int]) -> np.ndarray:
    """A (T, K) per-bar input such as gross exposure; a (T,) vector is accepted when K = 1."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1 and shape[1] == 1:
        arr = arr[:, None]
    if arr.shape != shape:
        raise ConfigError(f"{name}: expected shape {shape} (bars, columns) like equity, got {arr.shape}")
    _check_finite(name, arr)
    return arr


def _benchmark_array(benchmark_returns: Any, n_bars: int, index: pd.Index | None) -> np.ndarray:
    """(T,) benchmark returns; a Series on timestamps is aligned to the equity's timestamps (gaps -> NaN)."""
    if (
        isinstance(benchmark_returns, pd.Series)
        and isinstance(benchmark_returns.index, pd.DatetimeIndex)
        and isinstance(index, pd.DatetimeIndex)
    ):
        benchmark_returns = benchmark_returns.reindex(index)
    rb = np.asarray(benchmark_returns, dtype=np.float64).reshape(-1)
    if rb.shape[0] != n_bars:
        raise ConfigError(f"benchmark_returns: {rb.shape[0]} values for {n_bars} equity bars")
    if np.isinf(rb).any():
        raise ConfigError(f"benchmark_returns: inf at row {int(np.argmax(np.isinf(rb)))}")
    return rb


def _exposure_sums(sums: Any, k: int, arrays_given: bool) -> np.ndarray | None:
    """The (K, 3) exposure sums (bars holding, gross exposure, turnover), checked; None when not given."""
    if sums is None:
        return None
    if arrays_given:
        raise ConfigError("exposure_sums: give either the sums or gross_exposure and turnover, not both")
    arr = np.asarray(sums, dtype=np.float64)
    if arr.shape != (k, 3):
        raise ConfigError(f"exposure_sums: expected shape {(k, 3)} (columns, 3 sums), got {arr.shape}")
    _check_finite("exposure_sums", arr)
    return arr


def _trade_sums(trades: pd.DataFrame | Mapping[str, np.ndarray], k: int) -> activity.TradeSums:
    """Validate the trade list (columns: column, pnl, return; a DataFrame or a mapping of arrays) and sum it
    per column."""
    if not isinstance(trades, (pd.DataFrame, Mapping)):
        raise ConfigError(f"trades: expected a DataFrame, got {type(trades).__name__}")
    for field in ("pnl", "return"):
        if field not in trades:
            raise ConfigError(f"trades: missing column {field!r} (have {list(trades.keys())})")
    if "column" in trades:
        col = np.asarray(trades["column"])
        col_f = np.asarray(col, dtype=np.float64)
        bad = ~(np.isfinite(col_f) & (col_f == np.round(col_f)) & (col_f >= 0) & (col_f < k))
        if bad.any():
            row = int(np.argmax(bad))
            raise ConfigError(f"trades: row {row} has column={col[row]}; expected an integer 0..{k - 1}")
        column = col_f.astype(np.int64)
    elif k == 1:
        column = np.zeros(len(trades["pnl"]), dtype=np.int64)
    else:
        raise ConfigError(f"trades: missing column 'column' (which of the {k} equity columns each trade is in)")
    pnl = np.asarray(trades["pnl"], dtype=np.float64)
    ret = np.asarray(trades["return"], dtype=np.float64)
    for field, values in (("pnl", pnl), ("return", ret)):
        if not np.isfinite(values).all():
            row = int(np.argmax(~np.isfinite(values)))
            raise ConfigError(f"trades: row {row} has {field}={values[row]}; expected a finite number")
    return activity.trade_sums(column, pnl, ret, k)


def metrics_table(
    equity: np.ndarray | pd.DataFrame,
    *,
    initial_cash: float | np.ndarray,
    periods_per_year: float = 252.0,
    index: pd.Index | None = None,
    benchmark_returns: np.ndarray | pd.Series | None = None,
    trades: pd.DataFrame | Mapping[str, np.ndarray] | None = None,
    gross_exposure: np.ndarray | None = None,
    turnover: np.ndarray | None = None,
    risk_free: float = 0.0,
) -> pd.DataFrame:
    """Every metric of `METRIC_NAMES` for each column of a (T, K) array of equity curves, as a DataFrame:
    one row per equity column (labelled like the DataFrame's columns, else 0..K-1), one column per metric.
    Arguments and units as in `metric_columns`."""
    labels, columns = metric_columns(
        equity,
        initial_cash=initial_cash,
        periods_per_year=periods_per_year,
        index=index,
        benchmark_returns=benchmark_returns,
        trades=trades,
        gross_exposure=gross_exposure,
        turnover=turnover,
        risk_free=risk_free,
    )
    return pd.DataFrame(columns, index=labels, columns=list(METRIC_NAMES))


def metric_columns(
    equity: np.ndarray | pd.DataFrame,
    *,
    initial_cash: float | np.ndarray,
    periods_per_year: float = 252.0,
    index: pd.Index | None = None,
    benchmark_returns: np.ndarray | pd.Series | None = None,
    trades: pd.DataFrame | Mapping[str, np.ndarray] | None = None,
    gross_exposure: np.ndarray | None = None,
    turnover: np.ndarray | None = None,
    risk_free: float = 0.0,
    exposure_sums: np.ndarray | None = None,
) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Every metric of `METRIC_NAMES` for each column of a (T, K) array of equity curves, as (row labels,
    {metric: (K,) values}) — `metrics_table` without building a DataFrame (a single backtest's hot path).

    Args:
        equity: (T, K) equity marked at each close (or (T,) for one curve). No NaN: the simulator
            guarantees a value at every close; NaN/inf raises ConfigError naming row and column.
        initial_cash: starting cash, a number or (K,) values; returns start from it (r[0] = e[0]/cash - 1).
        periods_per_year: bars per year for annualization (252 for daily stock bars; also used for
            crypto's 7-day calendar, as in WORKLOADS rule 7).
        index: (T,) bar timestamps; CAGR uses calendar years when it is a DatetimeIndex, else T / P.
            Defaults to the DataFrame's index.
        benchmark_returns: (T,) per-bar benchmark returns for beta and alpha (NaN bars are dropped);
            a Series on timestamps is aligned to `index`.
        trades: one row per trade with columns `column` (int 0..K-1; optional when K = 1), `pnl`
            (currency) and `return` (fraction); a DataFrame or a mapping of arrays.
        gross_exposure: (T, K) sum |position value| / equity at each close.
        turnover: (T, K) traded notional / equity on each bar.
        risk_free: annual risk-free rate for Sharpe, Sortino and alpha (default 0, as in rule 7).
        exposure_sums: instead of gross_exposure and turnover, their (K, 3) sums where a simulator summed them
            as it went (engine.metrics.fused.fused_metrics; the single-series simulator does).

    Returns:
        The row labels (the DataFrame's columns, else 0..K-1) and one float64 (K,) array per metric, in
        `METRIC_NAMES` order. Metrics whose input was not given are NaN.
    """
    values, labels, own_index = _equity_array(equity)
    n_bars, k = values.shape
    if index is None:
        index = own_index
    elif len(index) != n_bars:
        raise ConfigError(f"index: {len(index)} timestamps for {n_bars} equity bars")
    if not (isinstance(periods_per_year, (int, float)) and math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ConfigError(f"periods_per_year: {periods_per_year!r} must be a positive number")
    if not (isinstance(risk_free, (int, float)) and math.isfinite(risk_free) and risk_free > -1):
        raise ConfigError(f"risk_free: {risk_free!r} must be an annual rate > -1 (0.02 = 2%)")
    cash = _cash_array(initial_cash, k)
    p = float(periods_per_year)
    nan = np.full(k, np.nan)
    empty2 = np.empty((0, 0))
    rb = _benchmark_array(benchmark_returns, n_bars, index) if benchmark_returns is not None else np.empty(0)
    ge = _panel("gross_exposure", gross_exposure, values.shape) if gross_exposure is not None else empty2
    to = _panel("turnover", turnover, values.shape) if turnover is not None else empty2
    held_sums = _exposure_sums(exposure_sums, k, gross_exposure is not None or turnover is not None)
    rf_bar = (1.0 + risk_free) ** (1.0 / p) - 1.0 if risk_free else 0.0
    years = curve.years_spanned(n_bars, p, index)
    # one compiled pass per column (fused.py), equal to the pure definitions in curve/benchmark/activity
    fused = fused_metrics(
        values,
        np.ascontiguousarray(cash, dtype=np.float64),
        p,
        rf_bar,
        float(years),
        np.ascontiguousarray(rb, dtype=np.float64),
        ge,
        to,
        0.95,
        held_sums,
    )
    given = {
        "equity": True,
        "benchmark": benchmark_returns is not None,
        "trades": trades is not None,
        "gross_exposure": gross_exposure is not None or held_sums is not None,
        "turnover": turnover is not None or held_sums is not None,
    }
    fused_slot = {name: i for i, name in enumerate(FUSED_NAMES)}
    inputs: Inputs | None = None
    out: dict[str, np.ndarray] = {}
    for m in METRICS:
        if not given[m.needs]:
            out[m.key] = nan
        elif m.key in fused_slot:
            out[m.key] = fused[:, fused_slot[m.key]]
        else:  # not in the compiled pass (trade metrics): the registry's pure function
            if inputs is None:
                sums = _trade_sums(trades, k) if trades is not None else None
                inputs = Inputs(
                    values,
                    cash,
                    p,
                    float(years),
                    risk_free,
                    rb if given["benchmark"] else None,
                    sums,
                    ge if given["gross_exposure"] else None,
                    to if given["turnover"] else None,
                )
            out[m.key] = m.compute(inputs)
    return labels, out


def backtest_metrics(
    equity: pd.Series,
    *,
    initial_cash: float,
    periods_per_year: float = 252.0,
    benchmark_returns: pd.Series | None = None,
    trades: pd.DataFrame | None = None,
    gross_exposure: pd.Series | None = None,
    turnover: pd.Series | None = None,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """Every metric of one backtest: `metrics_table` with K = 1, as a {name: float} dict.

    `equity`'s index gives CAGR its calendar years; `trades` needs only `pnl` and `return` (e.g. a
    `BacktestResult.trades` frame). See `metrics_table` for units and definitions.
    """
    if not isinstance(equity, pd.Series):
        equity = pd.Series(np.asarray(equity, dtype=np.float64).reshape(-1))
    table = metrics_table(
        equity.to_frame(name=0),
        initial_cash=initial_cash,
        periods_per_year=periods_per_year,
        benchmark_returns=benchmark_returns,
        trades=trades,
        gross_exposure=gross_exposure,
        turnover=turnover,
        risk_free=risk_free,
    )
    return {name: float(v) for name, v in table.iloc[0].items()}

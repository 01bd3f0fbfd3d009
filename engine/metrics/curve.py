"""Metrics of equity curves and their per-bar returns, column-wise over a (T, K) array.

Every function here is pure numpy over an array whose rows are bars (equity marked at each close) and whose
columns are independent curves (one per backtest / parameter set). Results are (K,) float64 arrays, NaN where
the metric is undefined (too few bars, zero dispersion). Inputs are assumed complete: the simulator guarantees
an equity value at every close, and `engine.metrics.metrics_table` rejects NaN before calling these.

Conventions (shared with bench/WORKLOADS.md rule 7):
- returns r[t] = e[t] / e[t-1] - 1 with e[-1] = initial cash, so r[0] = e[0] / initial - 1 and every bar counts;
- annualization multiplies a per-bar mean by P = periods_per_year and a per-bar std by sqrt(P);
- the optional risk-free rate is an annual rate, turned into a per-bar rate (1 + rf) ** (1 / P) - 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A std below this multiple of the largest |return| counts as zero (a flat curve) -> Sharpe/Sortino NaN.
ZERO_DISPERSION = 1e-12


def returns_from_equity(equity: np.ndarray, initial_cash: float | np.ndarray) -> np.ndarray:
    """Per-bar simple returns of equity curves.

    r[t] = e[t] / e[t-1] - 1 with e[-1] = initial cash, so r[0] = e[0] / initial - 1 covers bar 0.

    Args:
        equity: (T,) or (T, K) equity marked at each close.
        initial_cash: scalar or (K,) starting cash per column.

    Returns:
        An array of the same shape as `equity` (fraction per bar, not annualized).
    """
    e = np.asarray(equity, dtype=np.float64)
    if e.shape[0] == 0:
        return e.copy()
    start = np.broadcast_to(np.asarray(initial_cash, dtype=np.float64), e.shape[1:])
    prev = np.concatenate([start[np.newaxis, ...], e[:-1]], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return e / prev - 1.0


def drawdown(equity: np.ndarray | pd.Series | pd.DataFrame) -> np.ndarray | pd.Series | pd.DataFrame:
    """Drawdown at each bar: e[t] / max(e[0..t]) - 1 (a fraction <= 0).

    The running maximum is over the curve itself (initial cash not included), as in WORKLOADS rule 7.
    Works on a (T,) or (T, K) array, a Series or a DataFrame and returns the same type and shape.
    """
    if isinstance(equity, (pd.Series, pd.DataFrame)):
        values = drawdown(equity.to_numpy(dtype=np.float64))
        if isinstance(equity, pd.Series):
            return pd.Series(values, index=equity.index, name=equity.name)
        return pd.DataFrame(values, index=equity.index, columns=equity.columns)
    e = np.asarray(equity, dtype=np.float64)
    if e.shape[0] == 0:
        return e.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return e / np.maximum.accumulate(e, axis=0) - 1.0


def _per_bar_rate(risk_free: float, periods_per_year: float) -> float:
    """Annual risk-free rate -> per-bar rate, compounding: (1 + rf) ** (1 / P) - 1."""
    return (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0 if risk_free else 0.0


def final_equity(equity: np.ndarray) -> np.ndarray:
    """Equity at the last close (currency). Not annualized (a level, not a rate). NaN with no bars."""
    return equity[-1].astype(np.float64) if len(equity) else np.full(equity.shape[1], np.nan)


def total_return(equity: np.ndarray, initial_cash: np.ndarray) -> np.ndarray:
    """Total return as a fraction: e[T-1] / initial - 1 (0.25 = +25%). Not annualized."""
    return final_equity(equity) / initial_cash - 1.0


def years_spanned(n_bars: int, periods_per_year: float, index: pd.Index | None = None) -> float:
    """Length of the backtest in years, for CAGR.

    With a DatetimeIndex: calendar days between the first and last timestamp / 365.25 (fractional days
    for intraday bars). Otherwise (integer index, or none): n_bars / periods_per_year.
    """
    if isinstance(index, pd.DatetimeIndex) and len(index):
        stamps = index.values  # datetime64 in the index's unit (UTC for tz-aware): no Timestamp boxing
        return float((stamps[-1] - stamps[0]) / np.timedelta64(1, "s")) / 86400.0 / 365.25
    return n_bars / periods_per_year


def cagr(equity: np.ndarray, initial_cash: np.ndarray, years: float) -> np.ndarray:
    """Compound annual growth rate: (final / initial) ** (1 / years) - 1 (a fraction per year).

    `years` comes from `years_spanned`. NaN when years <= 0 (e.g. a single timestamped bar) or the
    final equity is negative; -1 when the account ends at exactly 0.
    """
    if not years > 0 or len(equity) == 0:
        return np.full(equity.shape[1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.power(final_equity(equity) / initial_cash, 1.0 / years) - 1.0


def annual_volatility(returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Annualized volatility: std(r, ddof=1) * sqrt(P). NaN with fewer than 2 bars."""
    n = len(returns)
    if n < 2:
        return np.full(returns.shape[1], np.nan)
    return returns.std(axis=0, ddof=1) * np.sqrt(periods_per_year)


def _abs_max(values: np.ndarray) -> np.ndarray:
    """max |x| per column without an |x| temporary."""
    return np.maximum(values.max(axis=0), -values.min(axis=0))


def sharpe(returns: np.ndarray, periods_per_year: float, risk_free: float = 0.0) -> np.ndarray:
    """Annualized Sharpe ratio: mean(r - rf) / std(r, ddof=1) * sqrt(P).

    Exactly WORKLOADS rule 7 with risk_free = 0 (the default): all bars, r[0] included, P = 252 for daily
    bars. `risk_free` is an annual rate (see module docstring). NaN with fewer than 2 bars or a numerically
    zero std (a flat curve).
    """
    if len(returns) < 2:
        return np.full(returns.shape[1], np.nan)
    mean = returns.mean(axis=0) - _per_bar_rate(risk_free, periods_per_year)
    std = returns.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std * np.sqrt(periods_per_year)
    return np.where(std > ZERO_DISPERSION * _abs_max(returns), out, np.nan)


def sortino(returns: np.ndarray, periods_per_year: float, risk_free: float = 0.0) -> np.ndarray:
    """Annualized Sortino ratio: mean(x) / sqrt(mean(min(x, 0) ** 2)) * sqrt(P), x = r - rf per bar.

    The downside deviation averages over all bars (not only losing ones), as empyrical does. NaN when
    there is no downside at all (no bar below the risk-free rate) or no bars.
    """
    n = len(returns)
    if n == 0:
        return np.full(returns.shape[1], np.nan)
    rf = _per_bar_rate(risk_free, periods_per_year)
    excess = returns - rf if rf else returns
    below = np.minimum(excess, 0.0)
    downside = np.sqrt(np.einsum("ij,ij->j", below, below) / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = excess.mean(axis=0) / downside * np.sqrt(periods_per_year)
    return np.where(downside > ZERO_DISPERSION * _abs_max(excess), out, np.nan)


def max_drawdown(equity: np.ndarray, running_max: np.ndarray | None = None) -> np.ndarray:
    """Maximum drawdown: min over t of e[t] / max(e[0..t]) - 1, a fraction <= 0 (-0.25 = a 25% fall).

    The running max is over the curve, not including initial cash (WORKLOADS rule 7). Not annualized: the
    worst fall over the whole backtest, whatever its length. NaN with no bars.
    `running_max` (np.maximum.accumulate(equity, axis=0)) may be passed to share it with the duration.
    """
    if len(equity) == 0:
        return np.full(equity.shape[1], np.nan)
    peak = np.maximum.accumulate(equity, axis=0) if running_max is None else running_max
    with np.errstate(divide="ignore", invalid="ignore"):
        return (equity / peak).min(axis=0) - 1.0


def max_drawdown_duration(equity: np.ndarray, running_max: np.ndarray | None = None) -> np.ndarray:
    """Longest drawdown, in bars: the most consecutive bars spent below a previous peak.

    A stretch that has not recovered by the last bar counts up to the last bar. A bar equal to the running
    max is a peak (not below it). E.g. [100, 90, 80, 100] -> 2. Not annualized: a count of bars (divide by
    periods_per_year for years). NaN with no bars.
    """
    n = len(equity)
    if n == 0:
        return np.full(equity.shape[1], np.nan)
    peak = np.maximum.accumulate(equity, axis=0) if running_max is None else running_max
    bar = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)[:, np.newaxis]
    last_peak = np.where(equity >= peak, bar, bar.dtype.type(0))
    np.maximum.accumulate(last_peak, axis=0, out=last_peak)
    np.subtract(bar, last_peak, out=last_peak)
    return last_peak.max(axis=0).astype(np.float64)


def calmar(cagr_values: np.ndarray, max_drawdown_values: np.ndarray) -> np.ndarray:
    """Calmar ratio: CAGR / |max drawdown| (both fractions; CAGR annualized as in `cagr`).

    NaN when there was no drawdown (max drawdown = 0), as empyrical does.
    """
    mdd = np.abs(max_drawdown_values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mdd > 0, cagr_values / mdd, np.nan)


def best_day(returns: np.ndarray) -> np.ndarray:
    """Best single-bar return (fraction, per bar: "day" for daily bars). NaN with no bars."""
    return returns.max(axis=0) if len(returns) else np.full(returns.shape[1], np.nan)


def worst_day(returns: np.ndarray) -> np.ndarray:
    """Worst single-bar return (fraction, per bar). NaN with no bars."""
    return returns.min(axis=0) if len(returns) else np.full(returns.shape[1], np.nan)


def tail_risk(returns: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """(value_at_risk, conditional_value_at_risk) from one partial sort of each column (see both)."""
    n = len(returns)
    if n == 0:
        nan = np.full(returns.shape[1], np.nan)
        return nan, nan.copy()
    # numpy's default "linear" quantile: position h = (n - 1) * q between order statistics lo and lo + 1.
    h = (n - 1) * (1.0 - level)
    lo = int(np.floor(h))
    hi = min(lo + 1, n - 1)
    part = np.partition(returns, sorted({lo, hi}), axis=0)
    var = part[lo] + (h - lo) * (part[hi] - part[lo])
    # part[:lo+1] <= part[lo] <= var <= part[hi] <= part[hi:], so only ties beyond lo can also be <= var.
    upper = part[lo + 1 :]
    tied = upper <= var
    total = part[: lo + 1].sum(axis=0) + np.where(tied, upper, 0.0).sum(axis=0)
    cvar = total / (lo + 1 + tied.sum(axis=0))
    return var, cvar


def value_at_risk(returns: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Historical value at risk: the (1 - level) quantile of per-bar returns (numpy's linear interpolation).

    A per-bar fraction, negative for a loss (var_95 = -0.02: on 5% of bars the loss was 2% or worse).
    Not annualized. NaN with no bars.
    """
    return tail_risk(returns, level)[0]


def conditional_value_at_risk(returns: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Conditional VaR (expected shortfall): mean of the per-bar returns at or below `value_at_risk`.

    A per-bar fraction, not annualized. NaN with no bars.
    """
    return tail_risk(returns, level)[1]

"""Metrics of (T, K) strategy returns against one (T,) benchmark return series: beta, alpha, tracking
error, information ratio, up and down capture, active return.

Bars where the strategy or the benchmark return is NaN (e.g. the benchmark has no bar yet) are dropped
for these metrics only, column by column. Both return series follow `curve.returns_from_equity`: bar t's
return is close t over close t-1, r[0] from initial cash, so a strategy bar pairs with the benchmark's
return over the same bar.
"""

from __future__ import annotations

import numpy as np

from engine.metrics.curve import ZERO_DISPERSION


def _moments(returns: np.ndarray, benchmark_returns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per column over the paired bars: count, mean(r), mean(rb), cov(r, rb) and var(rb), both ddof=1."""
    rb = np.asarray(benchmark_returns, dtype=np.float64).reshape(-1)
    k = returns.shape[1]
    if not np.isnan(returns).any():
        # Fast path (the simulator's curves have no NaN): only benchmark gaps drop bars, the same rows for
        # every column, so the covariances are one matrix-vector product.
        keep = ~np.isnan(rb)
        r, b = (returns, rb) if keep.all() else (returns[keep], rb[keep])
        n = len(b)
        if n < 2:
            nan = np.full(k, np.nan)
            return np.full(k, n), nan, nan, nan, nan
        dev_b = b - b.mean()
        return (
            np.full(k, n),
            r.mean(axis=0),
            np.full(k, b.mean()),
            (dev_b @ r) / (n - 1),
            np.full(k, (dev_b @ dev_b) / (n - 1)),
        )
    b2 = np.broadcast_to(rb[:, np.newaxis], returns.shape)
    mask = ~(np.isnan(returns) | np.isnan(b2))
    count = mask.sum(axis=0)
    r = np.where(mask, returns, 0.0)
    b = np.where(mask, b2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_r = r.sum(axis=0) / count
        mean_b = b.sum(axis=0) / count
        dev_b = np.where(mask, b - mean_b, 0.0)
        cov = (dev_b * (r - mean_r)).sum(axis=0) / (count - 1)
        var = np.square(dev_b).sum(axis=0) / (count - 1)
    return count, mean_r, mean_b, cov, var


def beta_alpha(
    returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float, risk_free: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(beta, alpha) in one pass over the data; see `beta` and `alpha`."""
    rf = (1.0 + risk_free) ** (1.0 / periods_per_year) - 1.0 if risk_free else 0.0
    count, mean_r, mean_b, cov, var = _moments(returns, benchmark_returns)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where((count >= 2) & (var > 0), cov / var, np.nan)
    return b, ((mean_r - rf) - b * (mean_b - rf)) * periods_per_year


def beta(returns: np.ndarray, benchmark_returns: np.ndarray) -> np.ndarray:
    """Beta = cov(r, rb) / var(rb), both with ddof=1, over the bars where both are defined.

    Per-bar returns (no annualization needed: the ratio is scale-free in time). NaN with fewer than 2
    paired bars or a constant benchmark.
    """
    return beta_alpha(returns, benchmark_returns, 1.0)[0]


def alpha(
    returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float, risk_free: float = 0.0
) -> np.ndarray:
    """Annualized Jensen's alpha: (mean(r - rf) - beta * mean(rb - rf)) * P.

    Means over the bars where both are defined; `risk_free` is an annual rate turned into a per-bar rate
    (1 + rf) ** (1 / P) - 1 (default 0). Arithmetic annualization (x P), not compounded. NaN where beta is.
    """
    return beta_alpha(returns, benchmark_returns, periods_per_year, risk_free)[1]


def _active_moments(returns: np.ndarray, benchmark_returns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per column over the paired bars of the active returns a = r - rb: count, mean(a), std(a, ddof=1)
    and max |a| (NaN where fewer than 2 bars)."""
    rb = np.asarray(benchmark_returns, dtype=np.float64).reshape(-1)
    active = returns - rb[:, np.newaxis]
    keep = ~np.isnan(active)
    a = np.where(keep, active, 0.0)
    count = keep.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = a.sum(axis=0) / count
        dev = np.where(keep, active - mean, 0.0)
        std = np.sqrt(np.einsum("ij,ij->j", dev, dev) / (count - 1))
    absmax = np.abs(a).max(axis=0) if len(a) else np.zeros(a.shape[1])
    enough = count >= 2
    return count, np.where(enough, mean, np.nan), np.where(enough, std, np.nan), absmax


def tracking_error(returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Annualized tracking error: std(r - rb, ddof=1) * sqrt(P) over the paired bars (a fraction per year).

    Per-bar active returns, annualized by sqrt(P) like volatility. NaN with fewer than 2 paired bars.
    """
    return _active_moments(returns, benchmark_returns)[2] * np.sqrt(periods_per_year)


def information_ratio(returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Annualized information ratio: mean(r - rb) / std(r - rb, ddof=1) * sqrt(P) over the paired bars.

    Per-bar active returns; annualized like Sharpe (mean x P over std x sqrt(P)), i.e. empyrical's
    excess_sharpe x sqrt(P). NaN with fewer than 2 paired bars or a numerically zero tracking error (the
    benchmark against itself).
    """
    _, mean, std, absmax = _active_moments(returns, benchmark_returns)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / std * np.sqrt(periods_per_year)
    return np.where(std > ZERO_DISPERSION * absmax, out, np.nan)


def _capture(returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float, up: bool) -> np.ndarray:
    """Annualized compound return of the strategy over the bars where the benchmark rose (fell), divided by
    the benchmark's over the same bars (empyrical's up_capture / down_capture)."""
    rb = np.asarray(benchmark_returns, dtype=np.float64).reshape(-1)
    keep = rb > 0 if up else rb < 0  # NaN compares False: a bar without a benchmark return is dropped
    n = int(keep.sum())
    if n == 0:
        return np.full(returns.shape[1], np.nan)
    power = periods_per_year / n  # 1 / years spanned by the n bars
    with np.errstate(divide="ignore", invalid="ignore"):
        strategy = np.prod(np.where(keep[:, np.newaxis], 1.0 + returns, 1.0), axis=0) ** power - 1.0
        bench = np.prod(1.0 + rb[keep]) ** power - 1.0
        return strategy / bench


def up_capture(returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Up-market capture: annualized return of the strategy on the bars where the benchmark return is > 0,
    divided by the benchmark's annualized return on those bars (1.0 = moved with it, a unitless ratio).

    Each side is annualized geometrically over the n selected bars: prod(1 + r) ** (P / n) - 1, as
    empyrical's up_capture. NaN when the benchmark never rose.
    """
    return _capture(returns, benchmark_returns, periods_per_year, up=True)


def down_capture(returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Down-market capture: annualized return of the strategy on the bars where the benchmark return is < 0,
    divided by the benchmark's annualized return on those bars (below 1.0 = lost less; unitless ratio).

    Each side is annualized geometrically over the n selected bars: prod(1 + r) ** (P / n) - 1, as
    empyrical's down_capture. NaN when the benchmark never fell.
    """
    return _capture(returns, benchmark_returns, periods_per_year, up=False)


def active_return(returns: np.ndarray, benchmark_returns: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Active return per year: the strategy's annualized return minus the benchmark's, over the paired bars.

    Each side compounds geometrically over the n bars where both returns are defined:
    prod(1 + r) ** (P / n) - 1 (empyrical's annual_return on those bars), then strategy - benchmark
    (a fraction per year; 0.02 = the strategy grew 2 points a year faster). NaN with no paired bar.
    """
    rb = np.asarray(benchmark_returns, dtype=np.float64).reshape(-1)
    keep = ~(np.isnan(returns) | np.isnan(rb)[:, np.newaxis])
    n = keep.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        power = periods_per_year / n
        strategy = np.prod(np.where(keep, 1.0 + returns, 1.0), axis=0) ** power - 1.0
        bench = np.prod(np.where(keep, 1.0 + rb[:, np.newaxis], 1.0), axis=0) ** power - 1.0
    return np.where(n > 0, strategy - bench, np.nan)

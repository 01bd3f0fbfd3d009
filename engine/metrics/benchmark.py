"""Beta and alpha of (T, K) strategy returns against one (T,) benchmark return series.

Bars where the strategy or the benchmark return is NaN (e.g. the benchmark has no bar yet) are dropped
for these two metrics only, column by column. Beta is a regression slope (unitless); alpha is Jensen's
alpha, annualized arithmetically (per-bar mean x P).
"""

from __future__ import annotations

import numpy as np


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

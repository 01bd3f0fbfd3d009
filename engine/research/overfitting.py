"""Overfitting checks for a strategy chosen out of many trials.

- `deflated_sharpe_ratio` (Bailey & Lopez de Prado, 2014, "The Deflated Sharpe Ratio: Correcting for
  Selection Bias, Backtest Overfitting and Non-Normality"): the probability that the true Sharpe ratio beats
  the Sharpe ratio the best of N worthless trials would reach by luck (`expected_max_sharpe`), allowing for
  the track record's length, skewness and kurtosis (`probabilistic_sharpe_ratio`).
- `probability_of_backtest_overfitting` (Bailey, Borwein, Lopez de Prado & Zhu, 2015, "The Probability of
  Backtest Overfitting"): combinatorially symmetric cross-validation (CSCV) over a T x N matrix of the
  trials' per-bar returns.
- `plateau_score`: whether the chosen parameter set sits on a plateau or on a lonely peak of a grid.

Every Sharpe ratio here is PER BAR (mean / std of per-bar returns, not annualized): divide an annualized
Sharpe by sqrt(periods_per_year) first. Kurtosis is the plain (non-excess) kurtosis: 3 for a normal
distribution. The normal distribution comes from the standard library (`statistics.NormalDist`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from engine.errors import ConfigError

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def expected_max_sharpe(n_trials: int, sharpe_variance: float, mean_sharpe: float = 0.0) -> float:
    """Expected maximum of `n_trials` Sharpe ratios drawn from N(mean_sharpe, sharpe_variance).

    E[max] ~= mean + sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e))), g = Euler-Mascheroni constant
    (the false strategy theorem). Per-bar units, like its inputs; 0 trials' worth of luck (mean) for N = 1.
    """
    _check_count("n_trials", n_trials, 1)
    _check_finite("sharpe_variance", sharpe_variance, low=0.0)
    if n_trials == 1 or sharpe_variance == 0:
        return float(mean_sharpe)
    z = (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n_trials) + EULER_GAMMA * _NORMAL.inv_cdf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return float(mean_sharpe + math.sqrt(sharpe_variance) * z)


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """P(true Sharpe > benchmark) given an observed per-bar Sharpe over `n_obs` bars.

    PSR = Z[(SR - SR*) sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2)].
    """
    _check_finite("sharpe", sharpe)
    _check_finite("benchmark", benchmark)
    _check_count("n_obs", n_obs, 2)
    _check_finite("skew", skew)
    _check_finite("kurtosis", kurtosis, low=1.0)
    denominator = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if denominator <= 0:
        raise ConfigError(
            f"probabilistic_sharpe_ratio: 1 - skew*SR + (kurtosis-1)/4*SR^2 = {denominator:.4g} "
            f"<= 0 for SR={sharpe}, skew={skew}, kurtosis={kurtosis}; is the Sharpe per bar?"
        )
    return float(_NORMAL.cdf((sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denominator)))


def deflated_sharpe_ratio(
    sharpe: float, n_obs: int, n_trials: int, sharpe_variance: float, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """Deflated Sharpe ratio: PSR against the expected maximum Sharpe of `n_trials` trials.

    Args:
        sharpe: observed PER-BAR Sharpe ratio of the chosen strategy.
        n_obs: number of bars (returns) behind it.
        n_trials: number of independent trials (parameter sets, strategies) tried before choosing it.
        sharpe_variance: variance of the trials' per-bar Sharpe ratios.
        skew, kurtosis: of the chosen strategy's per-bar returns (kurtosis not excess: 3 = normal).

    Returns:
        A probability in [0, 1]; >= 0.95 means the Sharpe ratio survives the multiple testing at 95%.
    """
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, sr0, n_obs, skew, kurtosis)


def return_moments(returns: Sequence[float] | np.ndarray | pd.Series) -> dict[str, float]:
    """Per-bar Sharpe (mean / std, ddof=1), skew and plain kurtosis (population moments), and n of returns."""
    r = np.asarray(returns, dtype=np.float64).reshape(-1)
    r = r[np.isfinite(r)]
    if len(r) < 3:
        raise ConfigError(f"returns: {len(r)} finite values; need at least 3 for Sharpe, skew and kurtosis")
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    std = float(r.std(ddof=1))
    if m2 == 0 or std == 0:
        return {"sharpe": math.nan, "skew": 0.0, "kurtosis": 3.0, "n_obs": len(r)}
    return {
        "sharpe": float(r.mean() / std),
        "skew": float(np.mean(d**3) / m2**1.5),
        "kurtosis": float(np.mean(d**4) / m2**2),
        "n_obs": len(r),
    }


@dataclass
class PBOResult:
    """Outcome of CSCV.

    pbo: share of the C(S, S/2) splits in which the in-sample best trial ranks at or below the median
        out of sample (logit <= 0). logits: one per split, ln(w / (1 - w)), w = OOS rank of the IS-best / (N+1).
    is_performance / oos_performance: per split, the IS-best trial's per-bar Sharpe in and out of sample
        (their relation shows the performance degradation). prob_oos_loss: share of splits where that trial
        lost money out of sample (OOS Sharpe < 0).
    """

    pbo: float
    logits: np.ndarray
    n_splits: int
    n_combinations: int
    n_trials: int
    is_performance: np.ndarray
    oos_performance: np.ndarray
    prob_oos_loss: float


def probability_of_backtest_overfitting(returns_matrix: np.ndarray | pd.DataFrame, n_splits: int = 16) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    The T x N matrix (bars x trials, per-bar returns) is cut into `n_splits` contiguous blocks of rows
    (as equal as possible: `numpy.array_split`, so no bar is dropped). For each of the C(S, S/2) ways to pick
    half the blocks as in-sample (the rest out-of-sample), the trial with the best in-sample Sharpe ratio is
    found, its out-of-sample Sharpe is ranked among all trials' (average rank for ties, 1 = worst), and
    logit = ln(w / (1 - w)) with w = rank / (N + 1). PBO = share of logits <= 0. A flat trial (zero std in a
    half) scores Sharpe 0 there.
    """
    r = np.asarray(returns_matrix, dtype=np.float64)
    if r.ndim != 2:
        raise ConfigError(f"returns_matrix: expected a (bars, trials) matrix, got shape {r.shape}")
    t, n = r.shape
    _check_count("n_splits", n_splits, 2)
    if n_splits % 2:
        raise ConfigError(f"n_splits: {n_splits} must be even (half of the blocks are in-sample)")
    if n < 2:
        raise ConfigError(f"returns_matrix: {n} trial(s); PBO compares at least 2 trials")
    if t < 2 * n_splits:
        raise ConfigError(f"returns_matrix: {t} bars for {n_splits} splits; need at least {2 * n_splits}")
    if not np.isfinite(r).all():
        row, col = (int(i[0]) for i in np.nonzero(~np.isfinite(r)))
        raise ConfigError(f"returns_matrix: {r[row, col]} at row {row}, column {col}; expected finite returns")
    blocks = np.array_split(np.arange(t), n_splits)
    sums = np.stack([r[b].sum(axis=0) for b in blocks])  # (S, N)
    squares = np.stack([(r[b] ** 2).sum(axis=0) for b in blocks])  # (S, N)
    counts = np.array([len(b) for b in blocks], dtype=np.float64)  # (S,)
    picks = np.array(list(combinations(range(n_splits), n_splits // 2)), dtype=np.int64)
    rank, is_perf, oos_perf = _cscv(sums, squares, counts, picks)
    w = rank / (n + 1.0)
    logits = np.log(w / (1.0 - w))
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        n_splits=n_splits,
        n_combinations=len(picks),
        n_trials=n,
        is_performance=is_perf,
        oos_performance=oos_perf,
        prob_oos_loss=float(np.mean(oos_perf < 0)),
    )


@njit(cache=True, nogil=True)
def _sharpe_from_sums(total, square, count):  # pragma: no cover - compiled
    """Per-bar Sharpe (ddof=1) from a sum, a sum of squares and a count; 0 when the std is ~0."""
    mean = total / count
    var = max(square - total * mean, 0.0) / (count - 1.0)
    std = np.sqrt(var)
    if std <= 1e-9 * np.sqrt(square / count):
        return 0.0
    return mean / std


@njit(cache=True, nogil=True)
def _cscv(sums, squares, counts, picks):  # pragma: no cover - compiled
    """For each in-sample half `picks[c]`: the IS-best trial's OOS average rank (1 = worst), IS and OOS Sharpe."""
    n_splits, n = sums.shape
    n_comb = picks.shape[0]
    rank = np.empty(n_comb)
    is_perf = np.empty(n_comb)
    oos_perf = np.empty(n_comb)
    in_sample = np.zeros(n_splits, dtype=np.bool_)
    oos = np.empty(n)
    total_sum = sums.sum(axis=0)
    total_sq = squares.sum(axis=0)
    total_count = counts.sum()
    for c in range(n_comb):
        in_sample[:] = False
        for j in range(picks.shape[1]):
            in_sample[picks[c, j]] = True
        cnt = 0.0
        for s in range(n_splits):
            if in_sample[s]:
                cnt += counts[s]
        best = -1
        best_sr = -np.inf
        for k in range(n):
            tot = 0.0
            sq = 0.0
            for s in range(n_splits):
                if in_sample[s]:
                    tot += sums[s, k]
                    sq += squares[s, k]
            sr = _sharpe_from_sums(tot, sq, cnt)
            if sr > best_sr:
                best_sr = sr
                best = k
            oos[k] = _sharpe_from_sums(total_sum[k] - tot, total_sq[k] - sq, total_count - cnt)
        chosen = oos[best]
        below = 0.0
        equal = 0.0
        for k in range(n):
            if oos[k] < chosen:
                below += 1.0
            elif oos[k] == chosen:
                equal += 1.0
        rank[c] = below + (equal + 1.0) / 2.0
        is_perf[c] = best_sr
        oos_perf[c] = chosen
    return rank, is_perf, oos_perf


def plateau_score(
    table: pd.DataFrame,
    param_names: Sequence[str],
    objective: str,
    *,
    maximize: bool = True,
    at: Mapping[str, Any] | None = None,
) -> float:
    """How much the objective holds up around a parameter set of a grid: mean(neighbours) / centre.

    The centre is the best row of `table` (or the row whose parameters equal `at`). Its neighbours are the
    rows one grid step away or less in every parameter (Chebyshev distance 1 over each parameter's sorted
    distinct values: up to 3^k - 1 rows for k parameters), the centre excluded; rows with a NaN objective
    are ignored. 1.0 = a flat plateau, 0.5 = the neighbours keep half of the centre's value, <= 0 = a lonely
    peak. With maximize=False (lower is better) the ratio is centre / mean(neighbours). NaN when the centre
    is not positive (the ratio means nothing there: use it for Sharpe, CAGR, total return, Calmar) or has no
    neighbour.
    """
    names = list(param_names)
    missing = [c for c in [*names, objective] if c not in table.columns]
    if missing:
        raise ConfigError(f"plateau_score: column(s) {missing} not in the table (have {list(table.columns)})")
    if not names:
        raise ConfigError("plateau_score: give at least one parameter name")
    values = pd.to_numeric(table[objective], errors="coerce").to_numpy(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return math.nan
    positions = np.column_stack([_grid_positions(table[name]) for name in names])
    if at is None:
        candidates = np.where(finite, values, -np.inf if maximize else np.inf)
        centre = int(np.argmax(candidates) if maximize else np.argmin(candidates))
    else:
        unknown = [k for k in names if k not in at]
        if unknown:
            raise ConfigError(f"plateau_score: `at` lacks parameter(s) {unknown}")
        match = np.ones(len(table), dtype=bool)
        for name in names:
            match &= (table[name] == at[name]).to_numpy()
        if not match.any():
            raise ConfigError(f"plateau_score: no row of the table has {dict((k, at[k]) for k in names)}")
        centre = int(np.argmax(match))
    distance = np.abs(positions - positions[centre]).max(axis=1)
    near = (distance <= 1) & (np.arange(len(table)) != centre) & finite & (distance > 0)
    c = values[centre]
    if not near.any() or not np.isfinite(c):
        return math.nan
    mean = float(values[near].mean())
    if maximize:
        return mean / c if c > 0 else math.nan
    return c / mean if c > 0 and mean > 0 else math.nan


def _grid_positions(column: pd.Series) -> np.ndarray:
    """Index of each row's value among the column's sorted distinct values (the grid coordinate)."""
    distinct = sorted(pd.unique(column), key=lambda v: (isinstance(v, str), v))
    where = {v: i for i, v in enumerate(distinct)}
    return np.array([where[v] for v in column], dtype=np.int64)


def _check_count(name: str, value: Any, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name}: {value!r} must be an integer >= {low}")


def _check_finite(name: str, value: Any, low: float | None = None) -> None:
    if (
        not isinstance(value, (int, float, np.floating, np.integer))
        or isinstance(value, bool)
        or not math.isfinite(value)
    ):
        raise ConfigError(f"{name}: {value!r} is not a finite number")
    if low is not None and value < low:
        raise ConfigError(f"{name}: {value!r} must be >= {low}")

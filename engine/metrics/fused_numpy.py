"""The interpreted tier's twins of the fused metric kernels (engine.metrics.fused): whole-array numpy calls that
give the kernels' numbers bit for bit, so a first call answered before numba loads pays numpy's speed, not a
Python loop's (the curve metrics of one 8,000-bar backtest: ~35 ms interpreted, ~1 ms here).

Why they are the same numbers: every sum and product the loops accumulate in time order is taken here with
np.add/np.multiply.accumulate over the same terms in the same order (sequential, unlike np.sum's pairwise
reduction); a term a loop skips is either left out of the array or is an exact identity (+0.0 to a sum of
squares, *1.0 to a product); maxima, minima and order statistics do not depend on the order. Only the sums are
taken here: the formulas that turn them into metrics are `fused.curve_outputs`, run by both tiers.
engine.metrics.fused registers the twins (`jit.numpy_twin`); tests hold each twin equal to its compiled kernel on
every bundled symbol.
"""

from __future__ import annotations

import math

import numpy as np


def _total(terms: np.ndarray) -> float:
    """The loop's running sum of `terms` from 0.0, in time order."""
    return float(np.add.accumulate(terms)[-1]) if terms.shape[0] else 0.0


def _product(factors: np.ndarray) -> float:
    """The loop's running product of `factors` from 1.0, in time order."""
    return float(np.multiply.accumulate(factors)[-1]) if factors.shape[0] else 1.0


def bench_stats_numpy(bench: np.ndarray) -> np.ndarray:
    """`bench_stats` in whole-array numpy calls, the same numbers: a bar on the other side multiplies the loop's
    up/down products by exactly 1.0, so they are the products over the up/down bars alone. ~40x the loop at 1M
    bars, ~100x faster than it interpreted on 8,000."""
    if bench.shape[0] == 0:
        return np.empty(0)
    b = bench[~np.isnan(bench)]
    m = b.shape[0]
    out = np.array([m, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    if m == 0:
        return out
    with np.errstate(over="ignore", under="ignore"):  # the loop overflows to inf (or underflows) silently too
        out[1] = _total(b)
        out[2] = _product(1.0 + b)
        for slot, side in ((3, b[b > 0.0]), (5, b[b < 0.0])):
            out[slot] = side.shape[0]
            out[slot + 1] = _product(1.0 + side)
        if m >= 2:
            d = b - out[1] / m
            out[7] = _total(d * d)
    return out


def curve_column_numpy(values, cash, periods, rf_bar, years, bench, bs, level, r, out, *, outputs) -> None:
    """`curve_column` (same arguments, same slots of `out`, `r` filled with the returns): its sums in numpy calls,
    handed to `outputs` (fused.curve_outputs, the metrics' formulas for both tiers; engine.metrics.fused binds it,
    as this module cannot import that one)."""
    n = values.shape[0]
    if n == 0:
        return
    has_bench = bench.shape[0] == n
    h = (n - 1) * (1.0 - level)
    lo = int(math.floor(h))
    hi = min(lo + 1, n - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        prev = np.empty(n)
        prev[0] = cash
        prev[1:] = values[:-1]
        np.divide(values, prev, out=r)
        r -= 1.0
        s = _total(r)
        absmax = max(0.0, float(np.fmax.reduce(np.abs(r))))
        best, worst = float(np.fmax.reduce(r)), float(np.fmin.reduce(r))
        # drawdown: a bar at or above the running peak is a peak (e / e = 1 unless e is 0); else e / peak
        peak = np.maximum.accumulate(values)
        prior = np.empty(n)
        prior[0] = -np.inf
        prior[1:] = peak[:-1]
        at_peak = values >= prior
        below = ~at_peak
        mdd = float(np.min(values[below] / peak[below])) if below.any() else np.inf
        if (at_peak & (values != 0.0)).any():
            mdd = min(mdd, 1.0)
        bars = np.arange(n)
        longest = int(np.max(bars - np.maximum.accumulate(np.where(at_peak, bars, 0))))
        mean = s / n
        d = r - mean
        ss = _total(d * d)
        x = r - rf_bar
        s_x = _total(x)
        absmax_x = max(0.0, float(np.fmax.reduce(np.abs(x))))
        down = _total(np.where(x < 0.0, x * x, 0.0))
        sr = sa = 0.0
        up_r = dn_r = p_r = 1.0
        if has_bench:
            paired_bar = ~np.isnan(bench)
            rb, bb = r[paired_bar], bench[paired_bar]
            sr, sa = _total(rb), _total(rb - bb)
            p_r = _product(1.0 + rb)
            up_r = _product(1.0 + rb * np.where(bb > 0.0, 1.0, 0.0))
            dn_r = _product(1.0 + rb * np.where(bb < 0.0, 1.0, 0.0))
        part = np.partition(r, (lo, hi))  # order statistics: the kernel's candidates give the same two values
        var = part[lo] + (h - lo) * (part[hi] - part[lo])
        tail = r[r <= var]
        cov = va = absmax_a = 0.0
        m = int(bs[0]) if has_bench else 0
        if has_bench and m >= 2:
            a = rb - bb
            cov = _total((bb - bs[1] / m) * rb)
            da = a - sa / m
            va = _total(da * da)
            absmax_a = max(0.0, float(np.fmax.reduce(np.abs(a))))
        outputs(
            out, n, cash, periods, rf_bar, years, values[n - 1], mean, ss, absmax, s_x, down, absmax_x, mdd, longest,
            best, worst, var, _total(tail), tail.shape[0], has_bench, bs, sr, sa, p_r, up_r, dn_r, cov, va, absmax_a
        )  # fmt: skip


def fused_numpy(
    values, cash, periods, rf_bar, years, bench, bs, gross, turnover, level, *, slots, column
) -> np.ndarray:
    """`fused._fused` (`slots` = len(FUSED_NAMES) metrics of every column) with `column` (`curve_column_numpy`
    bound to its formulas) and the exposure sums in numpy."""
    n, k = values.shape
    out = np.full((k, slots), np.nan)
    for c in range(k if n else 0):
        column(values[:, c], cash[c], periods, rf_bar, years, bench, bs, level, np.empty(n), out[c])
        if gross.shape[0] == n:
            g = np.ascontiguousarray(gross[:, c])
            out[c, 15] = np.count_nonzero(g > 0.0) / n
            out[c, 16] = _total(g) / n
        if turnover.shape[0] == n:
            out[c, 17] = _total(np.ascontiguousarray(turnover[:, c])) / n * periods
    return out

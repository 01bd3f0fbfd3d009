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


RENORM_EVERY = 32
"""Bars between two `renorm`s of the kernels' running products (capture, active return). Over a long series those
products leave the float range: an up-market product overflows to inf (the capture is NaN), a down-market one
sticks at the smallest subnormal (garbage, and every multiply by a subnormal is slow: ~4 of the metrics' ~10 ms at
1M bars). 32 factors of at most 2**23 either way cannot carry a product from [2**-256, 2**256] out of range."""
TINY, HUGE = 2.0**-256, 2.0**256


def renorm(p: float, e: int) -> tuple[float, int]:
    """(p', e') with p' * 2**e' == p * 2**e exactly and p' in [2**-256, 2**256] (0, inf and NaN as they are):
    scaling by a power of two is exact, so a running product kept this way has every bit the plain product has
    while that stays a normal float, and the right value where it would not. The kernels run it compiled
    (fused.renorm; after editing it, touch fused.py and engine/sim/grid_cross.py: numba caches by file)."""
    while p != 0.0 and abs(p) < TINY:
        p *= HUGE
        e -= 256
    while abs(p) > HUGE and abs(p) != math.inf:  # NaN compares False
        p *= TINY
        e += 256
    return p, e


def _product(factors: np.ndarray) -> tuple[float, int]:
    """The loops' running product of `factors` from 1.0 in time order, renormed after every RENORM_EVERY-th factor:
    (mantissa, binary exponent). Where no renorm changes anything (every series but the very long ones) that is
    the plain sequential product; else the blocks are multiplied one by one."""
    if factors.shape[0] == 0:
        return np.float64(1.0), 0
    acc = np.multiply.accumulate(factors)
    ends = acc[RENORM_EVERY - 1 :: RENORM_EVERY]
    size = np.abs(ends)
    if ((ends == 0.0) | np.isnan(ends) | ((size >= TINY) & ((size <= HUGE) | np.isinf(size)))).all():
        return acc[-1], 0
    p: float = np.float64(1.0)  # numpy scalars from here on: numpy's overflow rules, as the loop's
    e = 0
    for start in range(0, factors.shape[0], RENORM_EVERY):
        block = factors[start : start + RENORM_EVERY]
        p = np.multiply.accumulate(np.concatenate(([p], block)))[-1]
        if block.shape[0] == RENORM_EVERY:
            p, e = renorm(p, e)
    return p, e


def bench_stats_numpy(bench: np.ndarray) -> np.ndarray:
    """`bench_stats` in whole-array numpy calls, the same numbers: a bar on the other side multiplies the loop's
    up/down products by exactly 1.0, so they are the products over the up/down bars alone. ~40x the loop at 1M
    bars, ~100x faster than it interpreted on 8,000."""
    if bench.shape[0] == 0:
        return np.empty(0)
    bar = ~np.isnan(bench)
    b = bench[bar]
    m = b.shape[0]
    out = np.array([m, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    if m == 0:
        return out
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # as silent as the loop
        out[1] = _total(b)
        # the products over every bar (a bar without a benchmark return: exactly 1.0), renormed where the loop is
        out[2], out[8] = _product(np.where(bar, 1.0 + bench, 1.0))
        for slot, side, exp_slot in ((3, bench > 0.0, 9), (5, bench < 0.0, 10)):
            out[slot] = np.count_nonzero(side)
            out[slot + 1], out[exp_slot] = _product(np.where(bar, 1.0 + bench * side, 1.0))
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
    if bs is None and has_bench:  # the compiled loop takes these sums in its own reads; the same numbers
        bs = bench_stats_numpy(bench)
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
        products: list[tuple[float, int]] = [
            (np.float64(1.0), 0)
        ] * 3  # the paired products, (mantissa, exponent): all, up bars, down bars
        if has_bench:
            paired_bar = ~np.isnan(bench)
            rb, bb = r[paired_bar], bench[paired_bar]
            sr, sa = _total(rb), _total(rb - bb)
            products = [
                _product(np.where(paired_bar, 1.0 + r * side, 1.0))
                for side in (1.0, np.where(bench > 0.0, 1.0, 0.0), np.where(bench < 0.0, 1.0, 0.0))
            ]
        (p_r, e_p), (up_r, e_up), (dn_r, e_dn) = products
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
            best, worst, var, _total(tail), tail.shape[0], has_bench, bs, sr, sa, p_r, up_r, dn_r, e_p, e_up, e_dn, cov, va,
            absmax_a
        )  # fmt: skip


def fused_numpy(
    values, cash, periods, rf_bar, years, bench, bs, gross, turnover, level, *, slots, column, exposure
) -> np.ndarray:
    """`fused._fused` (`slots` = len(FUSED_NAMES) metrics of every column) with `column` (`curve_column_numpy`
    bound to its formulas), the exposure sums in numpy and `exposure` (fused.exposure_outputs) for their metrics."""
    n, k = values.shape
    out = np.full((k, slots), np.nan)
    for c in range(k if n else 0):
        column(values[:, c], cash[c], periods, rf_bar, years, bench, bs, level, np.empty(n), out[c])
        held = gross_sum = turnover_sum = np.nan
        if gross.shape[0] == n:
            g = np.ascontiguousarray(gross[:, c])
            held, gross_sum = float(np.count_nonzero(g > 0.0)), _total(g)
        if turnover.shape[0] == n:
            turnover_sum = _total(np.ascontiguousarray(turnover[:, c]))
        exposure(out[c], n, periods, held, gross_sum, turnover_sum)
    return out

"""One compiled pass per equity column for every curve, benchmark and exposure metric.
Long because: the pass and the compiled helpers it calls share one file (numba caches a kernel by its own file,
so a helper kept in another file goes stale in that cache when it is edited).

The definitions live in `curve`, `benchmark` and `activity` (small pure numpy functions, one per metric);
this kernel computes the same numbers in one loop per column, in parallel over columns, because a
parameter grid asks for thousands of columns at once and a single backtest should not pay numpy's
per-call overhead two dozen times. Tests hold the two to 1e-12.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from engine import jit
from engine.jit import njit, prange
from engine.metrics import fused_numpy as twins
from engine.metrics.curve import ZERO_DISPERSION
from engine.metrics.fused_numpy import RENORM_EVERY, bench_stats_numpy, curve_column_numpy, fused_numpy

FUSED_NAMES: tuple[str, ...] = (
    "final_equity",
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration",
    "best_day",
    "worst_day",
    "var_95",
    "cvar_95",
    "beta",
    "alpha",
    "exposure",
    "avg_gross_exposure",
    "turnover",
    "tracking_error",
    "information_ratio",
    "up_capture",
    "down_capture",
    "active_return",
)

#: below this many bars VaR partitions all returns; from it, only the candidates below a sampled threshold
SAMPLED_VAR_MIN_BARS = 2048
LN2 = math.log(2.0)

renorm = njit(cache=True, nogil=True)(twins.renorm)
"""The running products' exact rescaling every RENORM_EVERY bars (source and reasons: fused_numpy.renorm)."""


@njit(cache=True, nogil=True)
def scaled_power(p, e, power):
    """(p * 2**e) ** power of a running product kept as mantissa p and exponent e (`renorm`): the plain
    product's p ** power, bit for bit, wherever that product is a normal float; else through logarithms (the plain
    product had overflowed to inf or stuck at the smallest subnormal there)."""
    if e == 0:
        return p**power
    k = math.frexp(p)[1] + e  # p * 2**e = m * 2**k with 0.5 <= |m| < 1
    if -1021 <= k <= 1024:
        return np.float64(math.ldexp(p, e)) ** power
    if p > 0.0:
        return np.exp(power * (math.log(p) + e * LN2))
    return p**power


@njit(cache=True, nogil=True)
def curve_column(values, cash, periods, rf_bar, years, bench, bs, level, r, out):
    """The curve and benchmark metrics of one equity curve into `out` (a row of len(FUSED_NAMES), NaN
    beforehand): every slot but the exposure and turnover ones (15-17). Two reads of the returns: the curve's
    sums with the paired sums and products (their means are needed by the second read), then the dispersion,
    covariance and tracking-error sums (collecting the VaR candidates); then CVaR's tail sum over the candidates
    (every return at or below the VaR is one, in time order). `curve_outputs` turns the sums into the metrics. VaR selects among the returns at or below a
    sampled threshold (`_candidate_threshold`), a few percent of them, rather than partitioning all of them (17 of
    ~25 ms at 1M bars); same values.

    values: (T,) equity; r: (T,) scratch for its returns; bench: (T,) benchmark returns (NaN = no bar) or empty;
    bs: `bench_stats(bench)` (what the benchmark alone contributes: the same for every column, so computed once),
    or None for one column: then the same sums are taken here, in the reads of the benchmark this column makes
    anyway (numba compiles the None case apart: `bs is None` is known when it compiles, so the array case
    carries none of it).
    The per-column entry point `_fused` runs for each column, and a compiled grid can call it for one set.
    """
    n = values.shape[0]
    if n == 0:
        return
    has_bench = bench.shape[0] == n
    h = (n - 1) * (1.0 - level)
    lo = int(math.floor(h))
    hi = min(lo + 1, n - 1)
    prev = cash
    s = 0.0
    absmax = 0.0
    best = -np.inf
    worst = np.inf
    peak = -np.inf
    mdd = np.inf
    last_peak = 0
    longest = 0
    sr = 0.0
    sa = 0.0
    up_r = 1.0
    dn_r = 1.0
    p_r = 1.0
    e_up = 0
    e_dn = 0
    e_p = 0
    mask = RENORM_EVERY - 1
    bm = 0  # the benchmark's own sums when bs is None: bench_stats' terms in bench_stats' order
    sb = 0.0
    p_b = 1.0
    n_up = 0.0
    up_b = 1.0
    n_dn = 0.0
    dn_b = 1.0
    eb_p = 0
    eb_up = 0
    eb_dn = 0
    for t in range(n):
        e = values[t]
        x = e / prev - 1.0
        prev = e
        r[t] = x
        s += x
        if has_bench:
            b = bench[t]
            if not np.isnan(b):
                sr += x
                sa += x - b
                p_r *= 1.0 + x
                # branch-free (the sign of a benchmark return is a coin flip to the branch predictor):
                # a bar on the other side multiplies by exactly 1.0, so the products are the same numbers
                up_r *= 1.0 + x * (1.0 if b > 0.0 else 0.0)
                dn_r *= 1.0 + x * (1.0 if b < 0.0 else 0.0)
                if bs is None:
                    bm += 1
                    sb += b
                    p_b *= 1.0 + b
                    up = 1.0 if b > 0.0 else 0.0
                    dn = 1.0 if b < 0.0 else 0.0
                    n_up += up
                    up_b *= 1.0 + b * up
                    n_dn += dn
                    dn_b *= 1.0 + b * dn
            if t & mask == mask:  # exact rescaling, every RENORM_EVERY bars (fused_numpy.renorm)
                p_r, e_p = renorm(p_r, e_p)
                up_r, e_up = renorm(up_r, e_up)
                dn_r, e_dn = renorm(dn_r, e_dn)
                if bs is None:
                    p_b, eb_p = renorm(p_b, eb_p)
                    up_b, eb_up = renorm(up_b, eb_up)
                    dn_b, eb_dn = renorm(dn_b, eb_dn)
        if abs(x) > absmax:
            absmax = abs(x)
        if x > best:
            best = x
        if x < worst:
            worst = x
        if e >= peak:
            peak = e
            last_peak = t
            if e != 0.0 and 1.0 < mdd:  # e / peak is e / e: exactly 1
                mdd = 1.0
        else:
            if t - last_peak > longest:
                longest = t - last_peak
            # e / peak only where it can be a new minimum: (mdd + 1e-12) * peak bounds it with room for rounding
            if peak <= 0.0 or e < (mdd + 1e-12) * peak:
                dd = e / peak
                if dd < mdd:
                    mdd = dd
    mean = s / n
    thr = _candidate_threshold(r, hi) if n >= SAMPLED_VAR_MIN_BARS else np.nan
    cand = np.empty(n if thr == thr else 0)
    n_cand = 0
    ss = 0.0
    down = 0.0
    absmax_x = 0.0
    s_x = 0.0
    # the paired sums in the same pass (each sum sees the same terms in the same order as in a pass of its own);
    # the benchmark's own sums come from bs, or from the first read (bs None)
    stats = np.empty(11)  # writable in both cases (a read-only bs and a fresh array do not unify)
    if bs is None:
        stats[0] = bm
        stats[1] = sb
        stats[2] = p_b
        stats[3] = n_up
        stats[4] = up_b
        stats[5] = n_dn
        stats[6] = dn_b
        stats[7] = 0.0
        stats[8] = eb_p
        stats[9] = eb_up
        stats[10] = eb_dn
    else:
        stats[: bs.shape[0]] = bs  # empty without a benchmark: then stats is never read
    m = int(stats[0]) if has_bench else 0
    paired = has_bench and m >= 2
    mb = stats[1] / m if paired else 0.0
    vb = 0.0
    ma = sa / m if paired else 0.0
    cov = 0.0
    va = 0.0
    absmax_a = 0.0
    for t in range(n):
        rt = r[t]
        if cand.shape[0] > 0:  # branch-free: written always, kept when at or below the threshold
            cand[n_cand] = rt
            n_cand += 1 if rt <= thr else 0
        d = rt - mean
        ss += d * d
        x = rt - rf_bar
        s_x += x
        if abs(x) > absmax_x:
            absmax_x = abs(x)
        if x < 0.0:
            down += x * x
        if paired:
            b = bench[t]
            if not np.isnan(b):
                cov += (b - mb) * rt
                a = rt - b
                da = a - ma
                va += da * da
                absmax_a = max(absmax_a, abs(a))
                if bs is None:
                    db = b - mb
                    vb += db * db
    if bs is None:
        stats[7] = vb
    v_lo, v_hi = select_pair(cand[:n_cand], lo, hi) if n_cand > hi else _order_pair(r, lo, hi)
    var = v_lo + (h - lo) * (v_hi - v_lo)
    tot = 0.0
    cnt = 0
    tail = cand[:n_cand] if n_cand > hi else r
    for i in range(tail.shape[0]):  # in time order: the partition's order differs between numba and numpy
        rt = tail[i]
        if rt <= var:
            tot += rt
            cnt += 1
    curve_outputs(
        out, n, cash, periods, rf_bar, years, values[n - 1], mean, ss, absmax, s_x, down, absmax_x, mdd, longest,
        best, worst, var, tot, cnt, has_bench, stats, sr, sa, p_r, up_r, dn_r, e_p, e_up, e_dn, cov, va, absmax_a
    )  # fmt: skip


ZERO_STATS = (0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
"""bench_stats' sb, p_b, n_up, up_b, n_dn, dn_b, vb and the products' exponents without a benchmark (sums 0,
products 1)."""


@njit(cache=True, nogil=True)
def curve_outputs(
    out, n, cash, periods, rf_bar, years, final, mean, ss, absmax, s_x, down, absmax_x, mdd, longest, best, worst,
    var, tail_sum, tail_n, has_bench, bs, sr, sa, p_r, up_r, dn_r, e_p, e_up, e_dn, cov, va, absmax_a
):  # fmt: skip
    """The metrics of one column into `out` from its sums, the one place of these formulas: `curve_column` and
    its numpy twin (engine.metrics.fused_numpy) both end here. The sums as `curve_column` names them; mdd: the
    lowest equity / running peak; tail_sum, tail_n: the sum and count of the returns at or below the VaR; cov:
    the sum of (b - mean b) * r over the paired bars; va: of the squared deviations of r - b from their mean."""
    sqrt_p = math.sqrt(periods)
    out[0] = final
    out[1] = final / cash - 1.0
    ratio = final / cash
    cagr = np.nan
    if years > 0.0 and ratio >= 0.0:
        cagr = ratio ** (1.0 / years) - 1.0
    out[2] = cagr
    if n >= 2:
        std = math.sqrt(ss / (n - 1))
        out[3] = std * sqrt_p
        if std > ZERO_DISPERSION * absmax:
            out[4] = (mean - rf_bar) / std * sqrt_p
    downside = math.sqrt(down / n)
    if downside > ZERO_DISPERSION * absmax_x:
        out[5] = (s_x / n) / downside * sqrt_p
    mdd -= 1.0
    out[7] = mdd
    if abs(mdd) > 0.0:
        out[6] = cagr / abs(mdd)
    out[8] = longest
    out[9] = best
    out[10] = worst
    out[11] = var
    out[12] = tail_sum / tail_n
    m = int(bs[0]) if has_bench else 0
    sb, p_b, n_up, up_b, n_dn, dn_b, vb, eb_p, eb_up, eb_dn = (
        (bs[1], bs[2], bs[3], bs[4], bs[5], bs[6], bs[7], bs[8], bs[9], bs[10]) if has_bench else ZERO_STATS
    )
    if has_bench and m >= 2:
        mr = sr / m
        mb = sb / m
        ma = sa / m
        cov /= m - 1
        vb /= m - 1
        if vb > 0.0:
            beta = cov / vb
            out[13] = beta
            out[14] = ((mr - rf_bar) - beta * (mb - rf_bar)) * periods
        te = math.sqrt(va / (m - 1))
        out[18] = te * sqrt_p
        if te > ZERO_DISPERSION * absmax_a:
            out[19] = ma / te * sqrt_p
    if has_bench:
        if m > 0:
            power = periods / m
            out[22] = (scaled_power(p_r, e_p, power) - 1.0) - (scaled_power(p_b, int(eb_p), power) - 1.0)
        if n_up > 0:
            up = periods / n_up
            out[20] = (scaled_power(up_r, e_up, up) - 1.0) / (scaled_power(up_b, int(eb_up), up) - 1.0)
        if n_dn > 0:
            dn = periods / n_dn
            out[21] = (scaled_power(dn_r, e_dn, dn) - 1.0) / (scaled_power(dn_b, int(eb_dn), dn) - 1.0)


@njit(cache=True, nogil=True)
def bench_stats(bench):
    """What the benchmark returns alone add to `curve_column` (NaN = no bar): [paired bars m, their sum, product of
    1 + b, up bars, product of 1 + b over them, down bars, product over them, sum of squared deviations from the
    mean, and the three products' binary exponents (`renorm`)]; empty input: empty. The same for every column, so
    computed once per call of the metrics (the callers run it through jit.kernel; its interpreted twin is
    `fused_numpy.bench_stats_numpy`)."""
    out = np.empty(11 if bench.shape[0] > 0 else 0)
    if bench.shape[0] == 0:
        return out
    e_p = 0
    e_up = 0
    e_dn = 0
    mask = RENORM_EVERY - 1
    m = 0
    sb = 0.0
    p_b = 1.0
    n_up = 0.0
    up_b = 1.0
    n_dn = 0.0
    dn_b = 1.0
    for t in range(bench.shape[0]):
        b = bench[t]
        if not np.isnan(b):
            m += 1
            sb += b
            p_b *= 1.0 + b
            up = 1.0 if b > 0.0 else 0.0
            dn = 1.0 if b < 0.0 else 0.0
            n_up += up
            up_b *= 1.0 + b * up
            n_dn += dn
            dn_b *= 1.0 + b * dn
        if t & mask == mask:  # exact rescaling, as curve_column's products
            p_b, e_p = renorm(p_b, e_p)
            up_b, e_up = renorm(up_b, e_up)
            dn_b, e_dn = renorm(dn_b, e_dn)
    vb = 0.0
    if m >= 2:
        mb = sb / m
        for t in range(bench.shape[0]):
            b = bench[t]
            if not np.isnan(b):
                db = b - mb
                vb += db * db
    out[0] = m
    out[1] = sb
    out[2] = p_b
    out[3] = n_up
    out[4] = up_b
    out[5] = n_dn
    out[6] = dn_b
    out[7] = vb
    out[8] = e_p
    out[9] = e_up
    out[10] = e_dn
    return out


@njit(cache=True, nogil=True)
def sample_stride(n):
    """The stride of `_candidate_threshold`'s sample of n returns: 1,024 to 8,192 of them, an eighth or less."""
    return max(1, n // min(8192, max(1024, n // 8)))


@njit(cache=True, nogil=True)
def _candidate_threshold(r, hi):
    """A value at or above the hi-th smallest of `r` with near certainty, close above it: a quantile of a strided
    sample of r, 4 standard deviations of the sample's order statistic above the rank hi maps to. Every return
    at or below it is a VaR candidate; `curve_column` checks there are enough and else falls back to all returns."""
    n = r.shape[0]
    stride = sample_stride(n)
    ns = (n + stride - 1) // stride
    q = (hi + 1.0) / n
    k = int(q * ns + 4.0 * math.sqrt(ns * q * (1.0 - q)) + 8.0)
    if k >= ns - 1:
        return np.nan
    sample = r[::stride]
    if np.isnan(sample).any():  # np.partition orders a NaN after every number; select_pair takes numbers only
        return np.partition(sample, k)[k]
    return select_pair(sample, k, k)[0]  # the same value, without np.partition's mispredicted branches


@njit(cache=True, nogil=True)
def select_pair(values, lo, hi):
    """The lo-th and hi-th smallest of `values` (hi = lo or lo + 1; no NaN): the VaR candidates' order statistics
    and the sampled threshold's (`_candidate_threshold`), as np.partition gives them. A quickselect whose partition steps have no data-dependent branch: each value is
    written to the next free slot and the slot advances when it belongs there, so the branch predictor never
    guesses (np.partition's compare-and-swap branches mispredicted on ~half the values: ~12 us of a W3 set's
    ~65 us of metrics; this takes ~1). `values` is left as it was (parts are copied into a scratch buffer)."""
    size = values.shape[0]
    buf = np.empty(2 * size)
    part = values
    n = size
    k = lo
    above = np.inf  # the least value left out above the part still searched (rank: the part's end)
    off = 0  # which half of buf the next part goes to (never the half `part` is in)
    while True:
        x0 = part[0]
        x1 = part[n >> 1]
        x2 = part[n - 1]
        pivot = max(min(x0, x1), min(max(x0, x1), x2))  # the median of three: a value of the part
        dst = buf[off : off + n]
        n_less = 0
        n_equal = 0
        least_above = np.inf
        for i in range(n):
            x = part[i]
            dst[n_less] = x
            n_less += 1 if x < pivot else 0
            n_equal += 1 if x == pivot else 0
            least_above = min(least_above, x if x > pivot else np.inf)
        if k < n_less:
            above = pivot
            part = dst[:n_less]
            n = n_less
        elif k < n_less + n_equal:
            if hi == lo or k + 1 < n_less + n_equal:
                return pivot, pivot
            return pivot, (least_above if n_less + n_equal < n else above)
        else:
            k -= n_less + n_equal
            m = 0
            for i in range(n):
                x = part[i]
                dst[m] = x
                m += 1 if x > pivot else 0
            part = dst[:m]
            n = m
        off = size - off


@njit(cache=True, nogil=True)
def _order_pair(r, lo, hi):
    """The lo-th and hi-th smallest of all returns `r` (hi = lo or lo + 1), as np.partition orders them (a NaN
    after every number): where there are no VaR candidates (a short series) or too few of them."""
    part = np.partition(r, lo)  # part[lo] is the lo-th smallest, everything after it is >= it
    v_lo = part[lo]
    v_hi = np.min(part[lo + 1 :]) if hi > lo else v_lo
    return v_lo, v_hi


@njit(cache=True, nogil=True)
def exposure_outputs(out, n, periods, held, gross_sum, turnover_sum):
    """The exposure metrics of one column into out[15:18] from its sums over n bars, the one place of these
    formulas (the fused pass, the compiled grid and the single-series simulator's own sums end here): the share
    of bars holding a position, the mean gross exposure, turnover per year. A NaN sum (no such input) gives NaN."""
    out[15] = held / n
    out[16] = gross_sum / n
    out[17] = turnover_sum / n * periods


def _fused(values, cash, periods, rf_bar, years, bench, bs, gross, turnover, level):
    n, k = values.shape
    out = np.full((k, len(FUSED_NAMES)), np.nan)
    has_gross = gross.shape[0] == n and n > 0
    has_turn = turnover.shape[0] == n and n > 0
    for c in prange(k):
        if n == 0:
            continue
        r = np.empty(n)
        curve_column(values[:, c], cash[c], periods, rf_bar, years, bench, bs, level, r, out[c])
        pos = np.nan
        tot_g = np.nan
        tot_t = np.nan
        if has_gross:
            pos = 0.0
            tot_g = 0.0
            for t in range(n):
                g = gross[t, c]
                tot_g += g
                if g > 0.0:
                    pos += 1.0
        if has_turn:
            tot_t = 0.0
            for t in range(n):
                tot_t += turnover[t, c]
        exposure_outputs(out[c], n, periods, pos, tot_g, tot_t)
    return out


_serial = njit(cache=True)(_fused)
_parallel = njit(cache=True, parallel=True)(_fused)
# the interpreted tier runs these numpy twins (engine.metrics.fused_numpy): the same numbers, at numpy's speed
jit.numpy_twin(bench_stats)(bench_stats_numpy)
_column_twin = functools.partial(curve_column_numpy, outputs=jit.interpreted(curve_outputs))  # the formulas: one place
jit.numpy_twin(curve_column)(_column_twin)
_exposure_twin = jit.interpreted(exposure_outputs)
for _kernel in (_serial, _parallel):
    jit.numpy_twin(_kernel)(
        functools.partial(fused_numpy, slots=len(FUSED_NAMES), column=_column_twin, exposure=_exposure_twin)
    )


def fused_metrics(values, cash, periods, rf_bar, years, bench, gross, turnover, level, exposure_sums=None):
    """(K, len(FUSED_NAMES)) metrics of the (T, K) equity `values` (threads over columns when K is large).

    bench: (T,) benchmark returns (NaN = no bar) or an empty array; gross, turnover: (T, K) or (0, 0).
    exposure_sums: instead of gross and turnover, their (K, 3) sums as `_fused` takes them (bars with a gross
    exposure above 0, the gross exposures' sum, the turnovers' sum, in time order) where a simulator kept them.
    """
    kernel = jit.kernel(_parallel if values.shape[1] >= 32 else _serial, values.size)
    ro = jit.readonly
    # one column takes the benchmark's sums in its own reads of it (curve_column with bs None): one pass less
    bs = None if values.shape[1] == 1 else ro(jit.kernel(bench_stats, bench.shape[0])(ro(bench)))
    out = kernel(ro(values), ro(cash), periods, rf_bar, years, ro(bench), bs, ro(gross), ro(turnover), level)
    if exposure_sums is not None and values.shape[0]:
        for c, (held, gross_sum, turnover_sum) in enumerate(exposure_sums):
            _exposure_twin(out[c], values.shape[0], periods, held, gross_sum, turnover_sum)
    return out

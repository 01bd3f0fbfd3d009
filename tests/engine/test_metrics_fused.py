"""The compiled one-pass metrics equal the registry's pure per-metric definitions (curve, benchmark, activity)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import jit
from engine.metrics.fused import (
    FUSED_NAMES,
    _candidate_threshold,
    bench_stats,
    fused_metrics,
    sample_stride,
    select_pair,
)
from engine.metrics.registry import Inputs, metric


@pytest.mark.parametrize("seed, n, k", [(0, 300, 5), (1, 2, 3), (2, 1, 2), (3, 1000, 1)])
def test_fused_equals_pure_definitions(seed, n, k):
    rng = np.random.default_rng(seed)
    eq = 1000 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, (n, k)), axis=0))
    eq[:, 0] = 1000.0 if k > 1 else eq[:, 0]  # a flat curve: Sharpe/Sortino/Calmar NaN
    cash = np.full(k, 1000.0)
    bench = rng.normal(0, 0.01, n)
    bench[: n // 10] = np.nan
    gross = rng.uniform(0, 1.5, (n, k)) * (rng.uniform(size=(n, k)) > 0.3)
    turn = rng.uniform(0, 0.1, (n, k))
    p, rf, years = 252.0, 0.02, n / 252.0
    rf_bar = (1 + rf) ** (1 / p) - 1
    got = dict(zip(FUSED_NAMES, fused_metrics(eq, cash, p, rf_bar, years, bench, gross, turn, 0.95).T))
    inputs = Inputs(eq, cash, p, years, rf, bench, None, gross, turn)
    want = {name: metric(name).compute(inputs) for name in FUSED_NAMES}  # the registry's pure functions
    for name in FUSED_NAMES:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("shape", ["distinct", "few_values", "all_equal", "sorted", "reversed", "one"])
def test_select_pair_gives_the_order_statistics_of_a_full_sort(shape):
    """The VaR candidates' branch-free selection against numpy's sort, at every rank pair of small arrays and at
    spread ranks of larger ones: ties (a few distinct values, all equal), presorted input, a single value."""
    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 7, 64, 777) if shape != "one" else (1,):
        values = {
            "distinct": rng.normal(0.0, 0.01, n),
            "few_values": rng.integers(-3, 3, n) * 0.01,
            "all_equal": np.full(n, -0.02),
            "sorted": np.sort(rng.normal(0.0, 0.01, n)),
            "reversed": np.sort(rng.normal(0.0, 0.01, n))[::-1].copy(),
            "one": np.array([0.5]),
        }[shape]
        before = values.copy()
        ordered = np.sort(values)
        for lo in range(n) if n <= 64 else range(0, n, 37):
            for hi in {lo, min(lo + 1, n - 1)}:
                got = jit.kernel(select_pair, 10**9)(values, lo, hi)  # compiled, as curve_column calls it
                assert got == (ordered[lo], ordered[hi]), (shape, n, lo, hi)
        np.testing.assert_array_equal(values, before)  # left as it was


@pytest.mark.parametrize("nan_at", [None, 0, 5])
def test_candidate_threshold_is_the_samples_order_statistic(nan_at):
    """The threshold is an order statistic of the strided sample, as np.partition gives it, with or without a NaN
    in the sample (a NaN return: equity at zero; then np.partition itself, which orders it last)."""
    rng = np.random.default_rng(3)
    n, hi = 9_000, 449
    r = np.where(rng.random(n) < 0.3, 0.0, rng.normal(0.0, 0.01, n))  # flat bars: ties at zero
    stride = sample_stride(n)
    if nan_at is not None:
        r[nan_at * stride] = np.nan
    sample = r[::stride]
    ns, q = sample.shape[0], (hi + 1.0) / n
    k = int(q * ns + 4.0 * np.sqrt(ns * q * (1.0 - q)) + 8.0)
    got = jit.kernel(_candidate_threshold, 10**9)(r, hi)
    assert got == np.partition(sample, k)[k] == np.sort(sample)[k]


def _var_pair(returns: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(fused, registry) var_95 and cvar_95 of the curve with these per-bar returns."""
    cash = np.array([1000.0])
    eq = (1000.0 * np.cumprod(1.0 + returns))[:, None]
    out = fused_metrics(eq, cash, 252.0, 0.0, 10.0, np.empty(0), np.empty((0, 0)), np.empty((0, 0)), 0.95)
    got = dict(zip(FUSED_NAMES, out.T))
    inputs = Inputs(eq, cash, 252.0, 10.0, 0.0, None, None, None, None)
    return got, {name: metric(name).compute(inputs) for name in ("var_95", "cvar_95")}


@pytest.mark.parametrize("case", ["normal", "ties", "sample_misses_tail", "sample_all_tail"])
def test_var_from_sampled_candidates_equals_the_full_quantile(case):
    """From SAMPLED_VAR_MIN_BARS bars VaR selects among the returns below a threshold taken from a strided sample;
    the value is the full quantile's whether the sample represents the tail, ties straddle it, the sample holds
    only the best returns (threshold too high: most returns are candidates) or only the worst (threshold below
    the quantile: too few candidates, so every return is used)."""
    rng = np.random.default_rng(7)
    n = 40_000
    r = rng.normal(0.0, 0.01, n)
    if case == "ties":
        r = np.round(r, 3)  # a few dozen distinct values: the quantile sits inside a run of equal returns
    stride = sample_stride(n)
    on_sample = np.arange(n) % stride == 0
    if case == "sample_misses_tail":  # the sampled bars are the best ones: their 5 % quantile is too high
        r = np.where(on_sample, 0.02 + np.abs(r), -np.abs(r))
    if case == "sample_all_tail":  # the sampled bars are the worst: the threshold is below the true quantile
        r = np.where(on_sample, -0.03 - np.abs(r), np.abs(r))
    got, want = _var_pair(r)
    for name in ("var_95", "cvar_95"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=0, err_msg=f"{case} {name}")


@pytest.mark.parametrize("case", ["normal", "nan_head", "long_overflow", "all_nan", "one_bar", "empty"])
def test_bench_stats_numpy_twin_equals_the_compiled_loop_bit_for_bit(case):
    """The interpreted tier runs bench_stats' numpy twin: the same numbers as the compiled loop, to the bit
    (sequential accumulations), including products that would overflow or underflow on a long series (renormed by
    exact powers of two, equal to the sum of the logarithms)."""
    rng = np.random.default_rng(3)
    bench = {
        "normal": rng.normal(0, 0.01, 5000),
        "nan_head": np.concatenate([np.full(30, np.nan), rng.normal(0, 0.01, 3000)]),
        "long_overflow": rng.normal(0, 0.05, 200_000),
        "all_nan": np.full(10, np.nan),
        "one_bar": np.array([0.01]),
        "empty": np.empty(0),
    }[case]
    compiled = jit.as_kernel(bench_stats).compiled()(bench)
    twin = jit.interpreted(bench_stats)(bench)
    assert twin.shape == compiled.shape
    np.testing.assert_array_equal(twin, compiled)
    if case == "long_overflow":  # the plain products would overflow (up) and underflow (down): kept renormed
        assert compiled[9] > 1000 and compiled[10] < -1000  # the extremes really occur (binary exponents)
        for slot, exp_slot, side in ((4, 9, bench > 0), (6, 10, bench < 0)):
            log_product = np.log(compiled[slot]) + compiled[exp_slot] * np.log(2.0)
            np.testing.assert_allclose(log_product, np.log1p(bench[side]).sum(), rtol=1e-9)


@pytest.mark.parametrize("tier", ["compiled", "interpreted"])
def test_capture_and_active_return_on_a_long_series_equal_the_sum_of_logarithms(tier, monkeypatch):
    """Over 200,000 bars the plain products of 1 + r leave the float range (up-market ones overflow to inf, which
    made up capture NaN; down-market ones stuck at 5e-324); kept renormed, each annualized side equals
    exp(P / n * sum(log1p(r))) - 1 computed independently, in both tiers."""
    monkeypatch.setenv("IVYBT_JIT", tier)
    rng = np.random.default_rng(11)
    n, p = 200_000, 252.0
    bench = rng.normal(0.0002, 0.02, n)
    r = 0.7 * bench + rng.normal(0.0001, 0.01, n)
    eq = (1000.0 * np.cumprod(1.0 + r))[:, None]  # the curve's returns are r (to rounding: checked below)
    ret = np.diff(np.concatenate(([1000.0], eq[:, 0]))) / np.concatenate(([1000.0], eq[:-1, 0]))
    out = dict(
        zip(FUSED_NAMES, fused_metrics(eq, np.array([1000.0]), p, 0.0, n / p, bench, *[np.empty((0, 0))] * 2, 0.95)[0])
    )

    def annual(x: np.ndarray) -> float:
        return float(np.expm1(p / len(x) * np.log1p(x).sum()))

    up, down = bench > 0, bench < 0
    with np.errstate(over="ignore", under="ignore"):  # the plain products fail
        assert np.prod(1.0 + bench[up]) == np.inf and np.prod(1.0 + bench[down]) < 1e-300
    np.testing.assert_allclose(out["up_capture"], annual(ret[up]) / annual(bench[up]), rtol=1e-8)
    np.testing.assert_allclose(out["down_capture"], annual(ret[down]) / annual(bench[down]), rtol=1e-8)
    np.testing.assert_allclose(out["active_return"], annual(ret) - annual(bench), rtol=1e-8, atol=1e-12)

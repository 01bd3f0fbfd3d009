"""The compiled one-pass metrics equal the registry's pure per-metric definitions (curve, benchmark, activity)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import jit
from engine.metrics.fused import FUSED_NAMES, bench_stats, fused_metrics, sample_stride
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
    (sequential accumulations), including products that overflow to inf or underflow on a long series."""
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
    if case == "long_overflow":
        assert np.isinf(compiled[4]) and compiled[6] < 1e-300  # the extremes really occur

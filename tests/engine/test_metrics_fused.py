"""The compiled one-pass metrics equal the registry's pure per-metric definitions (curve, benchmark, activity)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics.fused import FUSED_NAMES, fused_metrics
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

"""The compiled one-pass metrics equal the pure per-metric definitions (curve, benchmark, activity)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics import activity, benchmark, curve
from engine.metrics.fused import FUSED_NAMES, fused_metrics


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
    r = curve.returns_from_equity(eq, cash)
    c = curve.cagr(eq, cash, years)
    mdd = curve.max_drawdown(eq)
    var, cvar = curve.tail_risk(r, 0.95)
    beta, alpha = benchmark.beta_alpha(r, bench, p, rf)
    want = {
        "final_equity": curve.final_equity(eq),
        "total_return": curve.total_return(eq, cash),
        "cagr": c,
        "annual_volatility": curve.annual_volatility(r, p),
        "sharpe": curve.sharpe(r, p, rf),
        "sortino": curve.sortino(r, p, rf),
        "calmar": curve.calmar(c, mdd),
        "max_drawdown": mdd,
        "max_drawdown_duration": curve.max_drawdown_duration(eq),
        "best_day": curve.best_day(r),
        "worst_day": curve.worst_day(r),
        "var_95": var,
        "cvar_95": cvar,
        "beta": beta,
        "alpha": alpha,
        "exposure": activity.exposure(gross),
        "avg_gross_exposure": activity.avg_gross_exposure(gross),
        "turnover": activity.annual_turnover(turn, p),
    }
    for name in FUSED_NAMES:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-14, err_msg=name)

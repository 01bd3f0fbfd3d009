"""Deflated Sharpe ratio, PBO (CSCV) and the plateau score against worked examples and plain loops.

Sources of the expected numbers:
- DSR: the numerical example of Bailey & Lopez de Prado (2014), "The Deflated Sharpe Ratio", section
  "A numerical example": annualized SR 2.5 over T = 1250 daily observations (250 a year), N = 100 trials whose
  annualized Sharpe ratios have variance 1/2, skewness -3, kurtosis 10 -> SR0 = 0.1132 (per day, printed to
  4 places) and DSR = 0.9004.
- PBO: a hand-worked 3-trial example (logits by hand), and an independent plain-Python CSCV written below
  from the 2015 paper's algorithm (itertools + statistics, no numpy in the loop).
"""

from __future__ import annotations

import math
import statistics
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.research.overfitting import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    plateau_score,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    return_moments,
)


def test_deflated_sharpe_reproduces_the_papers_numerical_example():
    sr = 2.5 / math.sqrt(250)  # per day
    variance = 0.5 / 250  # annualized variance 1/2 -> per day
    assert round(expected_max_sharpe(100, variance), 4) == 0.1132
    assert round(deflated_sharpe_ratio(sr, 1250, 100, variance, skew=-3.0, kurtosis=10.0), 4) == 0.9004


def test_expected_max_sharpe_against_simulated_maxima():
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((20_000, 100)).max(axis=1).mean()  # E[max of 100 N(0, 1)] ~ 2.508
    assert expected_max_sharpe(100, 1.0) == pytest.approx(simulated, rel=0.02)
    assert expected_max_sharpe(1, 0.3) == 0.0


def test_probabilistic_sharpe_by_hand():
    # normal returns: Z[(0.1 - 0) * sqrt(251) / sqrt(1 + (3 - 1) / 4 * 0.01)]
    z = 0.1 * math.sqrt(251) / math.sqrt(1 + 0.5 * 0.01)
    expected = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert probabilistic_sharpe_ratio(0.1, 0.0, 252) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ConfigError, match="n_obs"):
        probabilistic_sharpe_ratio(0.1, 0.0, 1)


def test_return_moments_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    r = np.random.default_rng(3).standard_t(4, 2000) * 0.01 + 0.0004
    m = return_moments(r)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert m["skew"] == pytest.approx(stats.skew(r), rel=1e-10)
    assert m["kurtosis"] == pytest.approx(stats.kurtosis(r, fisher=False), rel=1e-10)


def reference_pbo(matrix: np.ndarray, n_splits: int) -> list[float]:
    """CSCV as in Bailey et al. (2015), written plainly: logits of the IS-best trial's OOS rank."""
    t, n = matrix.shape
    bounds = np.array_split(np.arange(t), n_splits)
    cols = [[float(x) for x in matrix[:, k]] for k in range(n)]

    def sharpe(values: list[float]) -> float:
        sd = statistics.stdev(values)
        return statistics.fmean(values) / sd if sd > 1e-12 else 0.0

    logits = []
    for chosen in combinations(range(n_splits), n_splits // 2):
        is_rows = [i for b in chosen for i in bounds[b]]
        oos_rows = [i for b in range(n_splits) if b not in chosen for i in bounds[b]]
        is_perf = [sharpe([c[i] for i in is_rows]) for c in cols]
        oos_perf = [sharpe([c[i] for i in oos_rows]) for c in cols]
        best = is_perf.index(max(is_perf))
        below = sum(1 for v in oos_perf if v < oos_perf[best])
        ties = sum(1 for v in oos_perf if v == oos_perf[best])
        w = (below + (ties + 1) / 2) / (n + 1)
        logits.append(math.log(w / (1 - w)))
    return logits


def test_pbo_hand_worked_example():
    # 3 trials, 2 blocks of 4 bars. A is best in block 1 and worst in block 2, B the reverse, C in between.
    a = [0.02, 0.03, 0.02, 0.03, -0.02, -0.01, -0.02, -0.01]
    b = [-0.02, -0.01, -0.02, -0.01, 0.02, 0.03, 0.02, 0.03]
    c = [0.00, 0.01, 0.00, 0.01, 0.00, 0.01, 0.00, 0.01]
    res = probability_of_backtest_overfitting(np.column_stack([a, b, c]), n_splits=2)
    # IS = block 1 -> best A; OOS rank of A among (A, B, C) in block 2 is 1 -> w = 1/4 -> logit ln(1/3).
    # IS = block 2 -> best B; OOS rank of B in block 1 is 1 -> logit ln(1/3). Both <= 0 -> PBO = 1.
    np.testing.assert_allclose(res.logits, [math.log(1 / 3)] * 2, rtol=1e-12)
    assert res.pbo == 1.0 and res.n_combinations == 2
    # A dominant trial D: best in and out of sample -> rank 3 of 3 -> w = 3/4 -> logit ln 3; PBO = 0.
    d = [x + 0.05 for x in c]
    res = probability_of_backtest_overfitting(np.column_stack([a, b, c, d]), n_splits=2)
    np.testing.assert_allclose(res.logits, [math.log((4 / 5) / (1 / 5))] * 2, rtol=1e-12)
    assert res.pbo == 0.0


@pytest.mark.parametrize("t, n, s", [(97, 7, 4), (240, 12, 6), (400, 20, 8)])
def test_pbo_equals_an_independent_plain_implementation(t, n, s):
    rng = np.random.default_rng(t)
    matrix = rng.normal(0.0003, 0.01, (t, n))
    matrix[:, 3] = matrix[:, 2]  # a duplicated trial: ties get average ranks in both implementations
    res = probability_of_backtest_overfitting(matrix, n_splits=s)
    expected = reference_pbo(matrix, s)
    np.testing.assert_allclose(res.logits, expected, rtol=1e-9, atol=1e-12)
    assert res.pbo == pytest.approx(np.mean(np.array(expected) <= 0))
    assert res.n_combinations == math.comb(s, s // 2)


def test_pbo_near_zero_for_a_dominant_trial_and_near_half_for_noise():
    rng = np.random.default_rng(42)
    noise = rng.normal(0, 0.01, (1600, 30))
    dominant = noise.copy()
    dominant[:, 5] += 0.004  # the best in every block, in and out of sample
    assert probability_of_backtest_overfitting(dominant, n_splits=8).pbo < 0.05
    # PBO of one noise matrix scatters widely (the splits share data); its average over matrices is ~0.5
    values = [probability_of_backtest_overfitting(rng.normal(0, 0.01, (800, 30)), n_splits=8).pbo for _ in range(30)]
    assert 0.35 < float(np.mean(values)) < 0.65


def test_pbo_rejects_bad_input():
    with pytest.raises(ConfigError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 3)), n_splits=5)
    with pytest.raises(ConfigError, match="at least 2 trials"):
        probability_of_backtest_overfitting(np.zeros((100, 1)))
    bad = np.zeros((100, 3))
    bad[7, 2] = np.nan
    with pytest.raises(ConfigError, match="row 7, column 2"):
        probability_of_backtest_overfitting(bad, n_splits=4)


def grid_table() -> pd.DataFrame:
    fast, slow = [5, 10, 15], [50, 100, 150]
    sharpe = {
        (5, 50): 0.2,
        (5, 100): 0.4,
        (5, 150): 0.3,
        (10, 50): 0.5,
        (10, 100): 1.0,
        (10, 150): 0.6,
        (15, 50): 0.1,
        (15, 100): 0.7,
        (15, 150): np.nan,
    }
    rows = [{"fast": f, "slow": s, "sharpe": sharpe[(f, s)]} for f in fast for s in slow]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # row order must not matter


def test_plateau_score_by_hand():
    table = grid_table()
    # best (10, 100) = 1.0; its 8 neighbours, NaN (15, 150) ignored: (0.2+0.4+0.3+0.5+0.6+0.1+0.7) / 7
    assert plateau_score(table, ["fast", "slow"], "sharpe") == pytest.approx(2.8 / 7 / 1.0)
    # a corner: (5, 50) = 0.2 with neighbours (5, 100), (10, 50), (10, 100) -> mean 0.6333 / 0.2
    assert plateau_score(table, ["fast", "slow"], "sharpe", at={"fast": 5, "slow": 50}) == pytest.approx(
        (0.4 + 0.5 + 1.0) / 3 / 0.2
    )
    # one parameter only: along fast at slow fixed is not a grid; neighbours by fast alone
    one = table[table["slow"] == 100]
    assert plateau_score(one, ["fast"], "sharpe") == pytest.approx((0.4 + 0.7) / 2)
    negative = table.assign(sharpe=-table["sharpe"].abs() - 0.1)
    assert math.isnan(plateau_score(negative, ["fast", "slow"], "sharpe"))
    with pytest.raises(ConfigError, match="not in the table"):
        plateau_score(table, ["fast", "lookback"], "sharpe")
    with pytest.raises(ConfigError, match="no row"):
        plateau_score(table, ["fast", "slow"], "sharpe", at={"fast": 7, "slow": 50})

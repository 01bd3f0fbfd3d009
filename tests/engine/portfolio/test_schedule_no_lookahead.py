"""Re-optimization on a schedule reads only the lookback up to the rebalance bar: weights at t do not change
when later data changes, the look-ahead audit passes, and new positions respect the correlation limit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import load_market_data
from engine.data.market import MarketData
from engine.portfolio.constraints import Constraints, correlation_filter
from engine.portfolio.optimizers import allocate
from engine.portfolio.schedule import rebalance_rows, rolling_allocations
from engine.research.audit import audit_lookahead
from engine.strategies.registry import create_strategy

SYMBOLS = ["SPY", "QQQ", "TLT", "GLD", "XLE"]


@pytest.fixture(scope="module")
def data() -> MarketData:
    return load_market_data(SYMBOLS, "2016-01-01", "2017-12-31")


def test_monthly_rows_are_first_bars_of_months_after_the_lookback(data: MarketData) -> None:
    rows = rebalance_rows(data.index, 0, 60)
    months = pd.Series(data.index.to_period("M"), index=data.index)
    firsts = [i for i in range(1, len(data)) if months.iloc[i] != months.iloc[i - 1] and i >= 60]
    assert list(rows) == firsts
    assert list(rebalance_rows(data.index, 21, 60)) == list(range(60, len(data), 21))


def test_weights_at_a_rebalance_are_the_window_allocation(data: MarketData) -> None:
    weights, rebalances = rolling_allocations(data.close, "min_variance", 60, 21, Constraints())
    t = 60 + 21 * 3
    window = data.close.pct_change().iloc[t - 59 : t + 1]
    expected = allocate("min_variance", window).weights
    assert rebalances[3].time == data.index[t]
    assert np.allclose(weights.iloc[t][expected.index], expected, atol=1e-9)
    assert (weights.iloc[:60].to_numpy() == 0).all()  # nothing before the first full lookback
    assert np.allclose(weights.iloc[t : t + 21], weights.iloc[t])  # held until the next rebalance


def test_future_data_does_not_change_past_weights(data: MarketData) -> None:
    cut = 300
    changed = data.close.copy()
    rng = np.random.default_rng(7)
    changed.iloc[cut + 1 :] *= rng.uniform(0.5, 1.5, size=changed.iloc[cut + 1 :].shape)
    params = ("max_sharpe", 60, 0, Constraints(max_weight=0.5, max_correlation=0.9))
    before, _ = rolling_allocations(data.close, *params)
    after, _ = rolling_allocations(changed, *params)
    assert np.array_equal(before.iloc[: cut + 1].to_numpy(), after.iloc[: cut + 1].to_numpy())
    assert not np.array_equal(before.to_numpy(), after.to_numpy())  # the change did reach later weights


@pytest.mark.parametrize("method", ["hrp", "risk_parity"])
def test_lookahead_audit_passes(data: MarketData, method: str) -> None:
    strategy = create_strategy("portfolio_opt", {"method": method, "lookback": 63, "max_weight": 0.5})
    report = audit_lookahead(strategy, data, n_checks=6)
    assert report.passed, report.summary()


def test_correlation_filter_keeps_held_and_reports_the_excluded(data: MarketData) -> None:
    window = data.close.pct_change().iloc[1:253]
    corr = np.corrcoef(window["QQQ"], window["SPY"])[0, 1]
    assert corr > 0.8
    allowed, cuts = correlation_filter(window, held=["SPY"], max_correlation=0.8)
    assert "SPY" in allowed and "QQQ" not in allowed
    (qqq,) = [c for c in cuts if c.symbol == "QQQ"]
    assert qqq.constraint == f"max_correlation 0.8 (corr {corr:.2f} with SPY)" and qqq.weight == 0.0
    allowed, _ = correlation_filter(window, held=["QQQ", "SPY"], max_correlation=0.8)
    assert {"QQQ", "SPY"} <= set(allowed)  # held positions are never filtered out


def test_windows_already_optimized_are_read_from_the_memo(data: MarketData, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.portfolio import problems, schedule

    schedule._cache.clear()
    first, _ = rolling_allocations(data.close, "min_variance", 60, 21, Constraints())
    solved: list[object] = []
    solve = problems.solve
    monkeypatch.setattr(problems, "solve", lambda shape, **v: solved.append(shape) or solve(shape, **v))
    again, _ = rolling_allocations(data.close.iloc[:300], "min_variance", 60, 21, Constraints())  # a truncated run
    assert not solved and np.array_equal(again.to_numpy(), first.iloc[:300].to_numpy())
    other, _ = rolling_allocations(data.close, "min_variance", 61, 21, Constraints())  # other windows: solved
    assert len(solved) == len(rebalance_rows(data.index, 21, 61))


@pytest.mark.parametrize("method", ["risk_parity", "max_sharpe", "hrp"])
def test_schedule_equals_allocate_on_the_window_frame(data: MarketData, method: str) -> None:
    # the same numbers in the same memory order as the window's DataFrame: the same weights, not just close ones
    # (Clarabel's risk parity moves ~1e-5 when the covariance's last bit does)
    weights, rebalances = rolling_allocations(data.close, method, 60, 21, Constraints())
    returns = data.close.pct_change()
    for k in (0, 5, 10):
        t = data.index.get_loc(rebalances[k].time)
        expected = allocate(method, returns.iloc[t - 59 : t + 1]).weights
        assert np.abs(weights.iloc[t][expected.index] - expected).max() < 1e-12

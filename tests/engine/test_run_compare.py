"""Comparing runs of different periods: aligned on the common period (start, end and returns checked against
the stored equity with pandas) or each on its own dates; differences of percentage metrics in pp."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.request import BacktestRequest, run_request
from engine.research.compare import align_curves, config_diff, metric_differences, metrics_side_by_side, run_label
from engine.store.runs import RunStore


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("cmp") / "runs.db")
    ids = []
    for start, end, fast in (("2015-01-01", "2019-12-31", 10), ("2017-06-01", "2021-12-31", 20)):
        req = BacktestRequest(
            strategy="sma_cross", params={"fast": fast, "slow": 50}, symbols=("SPY",), start=start, end=end
        )
        ids.append(store.save(run_request(req), req, name=f"fast {fast}"))
    return [store.load(i) for i in ids]


def test_aligned_curves_start_at_the_common_start_with_the_stored_returns(two_periods) -> None:
    a, b = two_periods
    ea, eb = a.result.equity, b.result.equity
    start, end = max(ea.index[0], eb.index[0]), min(ea.index[-1], eb.index[-1])
    assert start == eb.index[0] and end == ea.index[-1]  # the fixture's periods overlap in 2017-06..2019-12
    shown = align_curves({run_label(a): ea, run_label(b): eb}, common=True)
    assert shown.aligned and (shown.start, shown.end) == (start, end)
    assert f"Aligned on the common period {start:%Y-%m-%d}..{end:%Y-%m-%d}" in shown.caption
    for run, eq in ((a, ea), (b, eb)):
        curve = shown.curves[run_label(run)]
        assert curve.index[0] == start and curve.index[-1] == end
        assert curve.iloc[0] == 1.0
        stored = eq[(eq.index >= start) & (eq.index <= end)]
        pd.testing.assert_series_equal(
            curve.pct_change().iloc[1:], stored.pct_change().iloc[1:], check_names=False, rtol=1e-12
        )
        assert curve.iloc[-1] == pytest.approx(stored.iloc[-1] / stored.iloc[0], rel=1e-12)


def test_own_dates_keep_each_period(two_periods) -> None:
    a, b = two_periods
    shown = align_curves({"a": a.result.equity, "b": b.result.equity}, common=False)
    assert not shown.aligned and "own dates" in shown.caption
    assert shown.curves["a"].index.equals(a.result.equity.index)
    assert shown.curves["b"].index.equals(b.result.equity.index)
    assert shown.curves["b"].iloc[-1] == pytest.approx(b.result.equity.iloc[-1] / b.result.equity.iloc[0])


def test_no_common_period_is_named() -> None:
    x = pd.Series([1.0, 1.1], index=pd.to_datetime(["2020-01-02", "2020-01-03"]))
    y = pd.Series([1.0, 0.9], index=pd.to_datetime(["2021-01-04", "2021-01-05"]))
    with pytest.raises(ConfigError, match="share no period.*2020-01-02..2020-01-03"):
        align_curves({"x": x, "y": y})


def test_differences_in_pp_and_config_diff(two_periods) -> None:
    a, b = two_periods
    table = metrics_side_by_side(two_periods)
    assert list(table.columns) == [f"{a.id[:8]} fast 10", f"{b.id[:8]} fast 20"]
    diffs = metric_differences(table).iloc[:, 0]
    tr = b.result.metrics["total_return"] - a.result.metrics["total_return"]
    assert diffs["total_return"] == f"{tr * 100:+.2f} pp"
    sharpe = b.result.metrics["sharpe"] - a.result.metrics["sharpe"]
    assert diffs["sharpe"] == f"{sharpe:+.3f}"
    trades = b.result.metrics["n_trades"] - a.result.metrics["n_trades"]
    assert diffs["n_trades"] == f"{trades:+,.0f}"
    fields = config_diff(two_periods)
    assert set(fields.index) == {"params.fast", "start", "end"}
    assert list(fields.loc["params.fast"]) == ["10", "20"]

"""Walk-forward: window bounds by hand, no out-of-sample bar moves a choice, stitched equity from single backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.data.market import FIELDS, MarketData
from engine.errors import ConfigError, DataError
from engine.research.optimize import OptimizeSpec
from engine.research.splits import parse_length, split_windows
from engine.research.walkforward import WalkForwardSpec, run_walkforward
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

COSTS = BacktestConfig(costs=Costs(commission_bps=5))
RANGES = {"fast": [5, 10, 20], "slow": [30, 60, 120]}


@pytest.fixture(scope="module")
def spy(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IVYBT_HOME", str(tmp_path_factory.mktemp("home")))
        yield load_market_data(["SPY"], start="2006-01-01", end="2020-12-31")


pytestmark = pytest.mark.usefixtures("home")


def wf_spec(in_sample="3Y", out_of_sample="1Y", anchored=False, **kw) -> WalkForwardSpec:
    opt = OptimizeSpec(**{"strategy": "sma_cross", "symbols": ("SPY",), "config": COSTS, "ranges": RANGES, **kw})
    return WalkForwardSpec(opt, in_sample, out_of_sample, anchored)


def bounds(windows):
    return [(w.is_start, w.is_stop, w.oos_start, w.oos_stop) for w in windows]


# ---------------------------------------------------------------- splits


def test_bar_windows_rolling_and_anchored_by_hand():
    idx = pd.RangeIndex(22)
    assert bounds(split_windows(idx, 8, 4)) == [(0, 8, 8, 12), (4, 12, 12, 16), (8, 16, 16, 20), (12, 20, 20, 22)]
    assert bounds(split_windows(idx, "8", "4", anchored=True)) == [
        (0, 8, 8, 12),
        (0, 12, 12, 16),
        (0, 16, 16, 20),
        (0, 20, 20, 22),
    ]
    # the OOS windows tile every bar after the first in-sample exactly once
    oos = [i for w in split_windows(idx, 5, 3) for i in range(w.oos_start, w.oos_stop)]
    assert oos == list(range(5, 22))


def test_calendar_windows_by_hand():
    idx = pd.bdate_range("2020-01-01", "2022-12-30")  # business days; 2022-01-01 is a Saturday
    ws = split_windows(idx, "1Y", "6M")
    got = [(idx[w.is_start], idx[w.is_stop - 1], idx[w.oos_start], idx[w.oos_stop - 1]) for w in ws]
    ts = pd.Timestamp
    assert got == [
        (ts("2020-01-01"), ts("2020-12-31"), ts("2021-01-01"), ts("2021-06-30")),
        (ts("2020-07-01"), ts("2021-06-30"), ts("2021-07-01"), ts("2021-12-31")),
        (ts("2021-01-01"), ts("2021-12-31"), ts("2022-01-03"), ts("2022-06-30")),
        (ts("2021-07-01"), ts("2022-06-30"), ts("2022-07-01"), ts("2022-12-30")),
    ]
    anchored = split_windows(idx, "12M", "26W", anchored=True)
    assert all(w.is_start == 0 for w in anchored)
    assert idx[anchored[1].oos_start] == ts("2021-07-02")  # 2021-01-01 + 26 weeks
    assert idx[anchored[1].oos_stop - 1] == ts("2021-12-30")


def test_lengths_and_split_errors():
    assert parse_length(250).bars == 250 and parse_length(" 90d ").offset == pd.DateOffset(days=90)
    for bad in ("3X", "0", -5, "", "1.5Y", True):
        with pytest.raises(ConfigError, match="in-sample"):
            parse_length(bad, "in-sample")
    idx = pd.bdate_range("2020-01-01", periods=100)
    with pytest.raises(DataError, match=r"in-sample length 5Y is longer than the data \(100 bars, 2020-01-01"):
        split_windows(idx, "5Y", "1Y")
    with pytest.raises(DataError, match="in-sample length 100 is longer"):
        split_windows(idx, 100, 10)
    with pytest.raises(ConfigError, match="calendar lengths"):
        split_windows(pd.RangeIndex(100), "1Y", 10)


# ---------------------------------------------------------------- walk-forward


def scrambled_after(data: MarketData, stop: int, seed: int) -> MarketData:
    """The same index; every bar from position `stop` on replaced by a random permutation of those bars."""
    perm = np.random.default_rng(seed).permutation(len(data) - stop)
    frames = {}
    for f in FIELDS:
        values = getattr(data, f).to_numpy().copy()
        values[stop:] = values[stop:][perm]
        frames[f] = pd.DataFrame(values, index=data.index, columns=data.close.columns)
    return MarketData(**frames)


def test_no_out_of_sample_bar_influences_the_chosen_parameters(spy):
    spec = wf_spec()
    base = run_walkforward(spec, data=spy)
    assert len(base.windows) >= 10
    names = ["fast", "slow"]
    for w in range(len(base.windows)):
        is_end = spy.index.get_loc(base.windows.loc[w, "is_end"]) + 1
        other = run_walkforward(spec, data=scrambled_after(spy, is_end, seed=w))
        # every window up to w chose the same parameters from the same in-sample surface ...
        pd.testing.assert_frame_equal(other.windows.loc[:w, names], base.windows.loc[:w, names])
        stab = base.stability[base.stability["window"] <= w].reset_index(drop=True)
        pd.testing.assert_frame_equal(other.stability[other.stability["window"] <= w].reset_index(drop=True), stab)
        # ... while the out-of-sample result of window w did change
        assert other.windows.loc[w, "oos_return"] != base.windows.loc[w, "oos_return"]


def test_stitched_equity_chains_oos_returns_of_single_backtests(spy):
    spec = wf_spec()
    res = run_walkforward(spec, data=spy)
    cash = COSTS.initial_cash
    pieces = []
    for _, row in res.windows.iterrows():
        # independent path: run_backtest on the bars from the IS start through the OOS end
        part = spy.slice(row["is_start"], row["oos_end"])
        eq = run_backtest(part, create_strategy("sma_cross", {"fast": row["fast"], "slow": row["slow"]}), COSTS).equity
        oos = eq.loc[row["oos_start"] :]
        before = eq.iloc[eq.index.get_loc(row["oos_start"]) - 1]
        r = oos.to_numpy() / np.r_[before, oos.to_numpy()[:-1]] - 1.0
        pieces.append(pd.Series(r, index=oos.index))
        assert row["oos_return"] == pytest.approx(oos.iloc[-1] / before - 1.0, rel=1e-12)
        assert row["oos_bars"] == len(oos)
    returns = pd.concat(pieces)
    assert returns.index.equals(res.oos_equity.index)
    assert returns.index.is_unique and returns.index[0] == res.windows["oos_start"].iloc[0]
    np.testing.assert_allclose(res.oos_equity.to_numpy(), cash * np.cumprod(1 + returns.to_numpy()), rtol=1e-12)
    total = np.prod([1 + x for x in res.windows["oos_return"]])
    assert res.oos_equity.iloc[-1] == pytest.approx(cash * total, rel=1e-12)
    # OOS metrics of the stitched curve: Sharpe by hand (mean / std * sqrt(252))
    r = returns.to_numpy()
    assert res.oos_metrics["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252), rel=1e-9)
    # efficiency as documented: stitched OOS CAGR / mean IS CAGR of the chosen sets
    assert res.efficiency == pytest.approx(res.oos_metrics["cagr"] / res.windows["is_cagr"].mean(), rel=1e-12)
    assert res.objective_efficiency == pytest.approx(
        res.windows["oos_objective"].mean() / res.windows["is_objective"].mean(), rel=1e-12
    )


def test_is_objective_is_the_best_in_sample_set(spy):
    res = run_walkforward(wf_spec(in_sample=750, out_of_sample=500), data=spy)
    for _, row in res.windows.iterrows():
        part = spy.slice(row["is_start"], row["is_end"])
        assert row["is_bars"] == len(part) == 750
        sharpes = {
            (f, s): run_backtest(part, create_strategy("sma_cross", {"fast": f, "slow": s}), COSTS).metrics["sharpe"]
            for f in RANGES["fast"]
            for s in RANGES["slow"]
        }
        best = max(sharpes, key=sharpes.get)
        assert (row["fast"], row["slow"]) == best
        assert row["is_objective"] == pytest.approx(sharpes[best], rel=1e-12)
        surface = res.stability[(res.stability["window"] == row["window"]) & (res.stability["metric"] == "sharpe")]
        assert len(surface) == 9
        for _, s in surface.iterrows():
            assert s["value"] == pytest.approx(sharpes[(s["fast"], s["slow"])], rel=1e-12)


def test_anchored_in_sample_starts_at_the_first_bar(spy):
    res = run_walkforward(wf_spec(in_sample="2Y", out_of_sample="2Y", anchored=True), data=spy)
    assert (res.windows["is_start"] == spy.index[0]).all()
    assert list(res.windows["is_bars"]) == sorted(res.windows["is_bars"])
    assert res.windows["oos_start"].iloc[1:].tolist() == [
        spy.index[spy.index.get_loc(e) + 1] for e in res.windows["oos_end"].iloc[:-1]
    ]


def test_a_window_without_a_feasible_set_stays_in_cash(spy):
    res = run_walkforward(wf_spec(min_trades=10_000), data=spy)
    assert not res.windows["feasible"].any()
    assert res.windows["fast"].isna().all()
    assert (res.oos_equity == COSTS.initial_cash).all()
    assert np.isnan(res.efficiency)


def test_spec_round_trip_progress_and_errors(spy):
    spec = wf_spec(in_sample="3Y", out_of_sample=250, anchored=True)
    assert WalkForwardSpec.from_dict(spec.to_dict()) == spec
    seen = []
    res = run_walkforward(spec, data=spy, progress=lambda d, n: seen.append((d, n)))
    assert seen[-1] == (len(res.windows), len(res.windows))
    with pytest.raises(ConfigError, match="cancelled"):
        run_walkforward(spec, data=spy, should_stop=lambda: True)
    with pytest.raises(DataError, match="in-sample length 20Y is longer than the data"):
        run_walkforward(wf_spec(in_sample="20Y"), data=spy)
    with pytest.raises(ConfigError, match="out-of-sample"):
        wf_spec(out_of_sample="1Q")
    with pytest.raises(ConfigError, match="unknown field"):
        WalkForwardSpec.from_dict({**spec.to_dict(), "step": 5})


# ---------------------------------------------------------------- windows on a process pool


@pytest.fixture(scope="module")
def pool():
    from engine.batch.runners import LocalRunner

    with LocalRunner(2) as runner:  # the batch runner: windows go through its public submit_call
        yield runner


def assert_same_walkforward(got, want) -> None:
    """Every output bit for bit (elapsed aside)."""
    pd.testing.assert_frame_equal(got.windows, want.windows, check_exact=True)
    pd.testing.assert_frame_equal(got.stability, want.stability, check_exact=True)
    pd.testing.assert_series_equal(got.oos_equity, want.oos_equity, check_exact=True)
    pd.testing.assert_series_equal(got.oos_returns, want.oos_returns, check_exact=True)
    assert got.chosen == want.chosen
    for name in ("efficiency", "objective_efficiency"):
        a, b = getattr(got, name), getattr(want, name)
        assert a == b or (np.isnan(a) and np.isnan(b)), name
    assert set(got.oos_metrics) == set(want.oos_metrics)
    for k, v in want.oos_metrics.items():
        assert got.oos_metrics[k] == v or (np.isnan(v) and np.isnan(got.oos_metrics[k])), k


def test_windows_on_a_process_pool_equal_the_serial_run_exactly(spy, pool):
    spec = wf_spec()
    serial = run_walkforward(spec, data=spy)
    seen = []
    parallel = run_walkforward(spec, data=spy, runner=pool, progress=lambda d, n: seen.append((d, n)))
    assert_same_walkforward(parallel, serial)
    n = len(serial.windows)
    assert sorted(seen) == [(i, n) for i in range(1, n + 1)]
    anchored = wf_spec(in_sample=750, out_of_sample=500, anchored=True)
    assert_same_walkforward(run_walkforward(anchored, data=spy, runner=pool), run_walkforward(anchored, data=spy))


@pytest.mark.slow
def test_windows_on_a_dask_runner_equal_the_serial_run_exactly(spy):
    from engine.batch.runners import DaskRunner

    spec = wf_spec(in_sample=750, out_of_sample=750)
    with DaskRunner(workers=2) as runner:  # a LocalCluster: the same submit_call interface as the local pool
        assert_same_walkforward(run_walkforward(spec, data=spy, runner=runner), run_walkforward(spec, data=spy))


def test_pool_windows_see_no_out_of_sample_bar(spy, pool):
    spec = wf_spec()
    base = run_walkforward(spec, data=spy, runner=pool)
    w = 5
    is_end = spy.index.get_loc(base.windows.loc[w, "is_end"]) + 1
    other = run_walkforward(spec, data=scrambled_after(spy, is_end, seed=w), runner=pool)
    pd.testing.assert_frame_equal(other.windows.loc[:w, ["fast", "slow"]], base.windows.loc[:w, ["fast", "slow"]])
    assert other.windows.loc[w, "oos_return"] != base.windows.loc[w, "oos_return"]


def test_pool_cancel_and_bad_workers(spy, pool):
    seen = []
    with pytest.raises(ConfigError, match="cancelled"):
        run_walkforward(
            wf_spec(), data=spy, runner=pool, progress=lambda d, n: seen.append((d, n)), should_stop=lambda: bool(seen)
        )
    done = [d for d, _ in seen]
    # two pool workers: a window already finished beside the first may still report before the stop
    assert done == list(range(1, len(done) + 1)) and len(done) <= 2 < seen[0][1]
    with pytest.raises(ConfigError, match="workers must be >= 1, got 0"):
        run_walkforward(wf_spec(), data=spy, workers=0)
    with pytest.raises(ConfigError, match="objective_fn .* cannot be sent to worker processes"):
        run_walkforward(wf_spec(), data=spy, runner=pool, objective_fn=lambda t: t["sharpe"])


def test_saved_walkforward_run_holds_the_stitched_equity_and_chosen_sets(spy):
    from engine.research.walkforward import save_walkforward
    from engine.store.runs import RunStore

    res = run_walkforward(wf_spec(), data=spy)
    run_id = save_walkforward(res, name="wf spy")
    store = RunStore()
    listed = store.list(kind="walkforward")
    assert listed["id"].tolist() == [run_id] and listed["name"].tolist() == ["wf spy"]
    assert listed["start"].iloc[0] == res.oos_equity.index[0].isoformat()
    stored = store.load(run_id)
    pd.testing.assert_series_equal(stored.result.equity, res.oos_equity, check_exact=True)
    # the stored returns chain to the stitched equity; the metrics are those of the OOS curve
    np.testing.assert_array_equal(
        COSTS.initial_cash * np.cumprod(1 + stored.result.returns.to_numpy()), res.oos_equity.to_numpy()
    )
    assert stored.result.metrics["sharpe"] == res.oos_metrics["sharpe"]
    assert listed["sharpe"].iloc[0] == res.oos_metrics["sharpe"]
    # the request trades the last window's set; the payload and the windows frame hold every window's
    last = res.windows.iloc[-1]
    assert (stored.request.params["fast"], stored.request.params["slow"]) == (last["fast"], last["slow"])
    payload = store.load_payload(run_id)
    assert [(c["fast"], c["slow"]) for c in payload["chosen"]] == list(zip(res.windows["fast"], res.windows["slow"]))
    assert payload["efficiency"] == res.efficiency and payload["spec"] == res.spec.to_dict()
    pd.testing.assert_frame_equal(store.load_frame(run_id, "walkforward_windows"), res.windows, check_exact=True)
    assert len(store.load_frame(run_id, "walkforward_stability")) == len(res.stability)

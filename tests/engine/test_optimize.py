"""Optimizer: every trial equals its single backtest, rankings match plain loops, seeds reproduce, constraints bite."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

COSTS = BacktestConfig(costs=Costs(commission_bps=5, slippage_bps=2))
FAST, SLOW = [5, 10, 20, 40], [20, 50, 100]


@pytest.fixture(scope="module")
def spy(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IVYBT_HOME", str(tmp_path_factory.mktemp("home")))
        yield load_market_data(["SPY"], start="2012-01-01", end="2020-12-31")


pytestmark = pytest.mark.usefixtures("home")


def spec(**kw) -> OptimizeSpec:
    base = dict(
        strategy="sma_cross",
        symbols=("SPY",),
        start="2012-01-01",
        end="2020-12-31",
        config=COSTS,
        ranges={"fast": FAST, "slow": SLOW},
    )
    return OptimizeSpec(**{**base, **kw})


def single(data, params, config=COSTS):
    return run_backtest(data, create_strategy("sma_cross", params), config)


def test_grid_trials_equal_single_backtests_exactly(spy):
    res = run_optimization(spec(), data=spy, workers=2)
    expected_sets = [(f, s) for f in FAST for s in SLOW if f < s]  # the Params reject fast >= slow
    assert len(res.table) == len(expected_sets) == 10
    assert sorted(zip(res.table["fast"], res.table["slow"])) == sorted(expected_sets)
    for fast, slow in [(5, 20), (20, 100), (40, 50)]:
        row = res.table[(res.table["fast"] == fast) & (res.table["slow"] == slow)]
        assert len(row) == 1
        one = single(spy, {"fast": fast, "slow": slow})
        np.testing.assert_array_equal(res.equity[row.index[0]].to_numpy(), one.equity.to_numpy())
        for key in ("total_return", "sharpe", "cagr", "max_drawdown", "n_trades", "win_rate", "turnover"):
            a, b = float(row[key].iloc[0]), one.metrics[key]
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-15), key


def test_ranking_and_best_match_a_plain_loop(spy):
    res = run_optimization(spec(objective="sortino"), data=spy)
    loop = {
        (f, s): single(spy, {"fast": f, "slow": s}).metrics["sortino"]
        for f, s in itertools.product(FAST, SLOW)
        if f < s
    }
    best = max(loop, key=loop.get)
    assert (res.best_params["fast"], res.best_params["slow"]) == best
    assert res.best_params == {"fast": best[0], "slow": best[1], "weight": 1.0, "allow_short": False}
    assert res.best_metrics["sortino"] == pytest.approx(loop[best], rel=1e-12)
    ordered = sorted(loop.values(), reverse=True)
    np.testing.assert_allclose(res.table["objective"].to_numpy(), ordered, rtol=1e-12)
    assert res.table["feasible"].all()
    # the best request reproduces the best metrics through the ordinary single-backtest path
    from engine.request import run_request

    assert run_request(res.best_request()).metrics["sortino"] == pytest.approx(loop[best], rel=1e-12)


def test_minimize_picks_the_lowest_value(spy):
    res = run_optimization(spec(objective="annual_volatility", maximize=False), data=spy)
    loop = {
        (f, s): single(spy, {"fast": f, "slow": s}).metrics["annual_volatility"]
        for f, s in itertools.product(FAST, SLOW)
        if f < s
    }
    assert (res.best_params["fast"], res.best_params["slow"]) == min(loop, key=loop.get)
    assert list(res.table["objective"]) == sorted(res.table["objective"])


def test_custom_objective_function(spy):
    def return_over_drawdown(t: pd.DataFrame) -> pd.Series:
        return t["total_return"] / -t["max_drawdown"]

    res = run_optimization(spec(), data=spy, objective_fn=return_over_drawdown)
    loop = {}
    for f, s in itertools.product(FAST, SLOW):
        if f < s:
            eq = single(spy, {"fast": f, "slow": s}).equity.to_numpy()
            dd = (eq / np.maximum.accumulate(np.r_[COSTS.initial_cash, eq])[1:] - 1).min()
            loop[(f, s)] = (eq[-1] / COSTS.initial_cash - 1) / -dd
    best = max(loop, key=loop.get)
    assert (res.best_params["fast"], res.best_params["slow"]) == best
    assert res.table["objective"].iloc[0] == pytest.approx(loop[best], rel=1e-9)
    with pytest.raises(ConfigError, match="one value per trial"):
        run_optimization(spec(), data=spy, objective_fn=lambda t: t["sharpe"].iloc[:2])


def test_min_trades_and_metric_constraints_flag_and_rank_last(spy):
    trades = {
        (f, s): len(single(spy, {"fast": f, "slow": s}).trades) for f, s in itertools.product(FAST, SLOW) if f < s
    }
    threshold = sorted(trades.values())[len(trades) // 2]
    res = run_optimization(spec(min_trades=threshold), data=spy)
    for _, row in res.table.iterrows():
        assert row["feasible"] == (trades[(row["fast"], row["slow"])] >= threshold)
    n_ok = sum(v >= threshold for v in trades.values())
    assert 0 < n_ok < len(trades)
    assert res.table["feasible"].tolist() == [True] * n_ok + [False] * (len(trades) - n_ok)
    assert trades[(res.best_params["fast"], res.best_params["slow"])] >= threshold
    # a drawdown bound: only sets with max_drawdown >= -0.15 are feasible
    res = run_optimization(spec(constraints={"max_drawdown": (-0.15, None)}), data=spy)
    for _, row in res.table.iterrows():
        dd = single(spy, {"fast": int(row["fast"]), "slow": int(row["slow"])}).metrics["max_drawdown"]
        assert row["feasible"] == (dd >= -0.15)
    # nothing feasible: no best set, and asking for its request says why
    res = run_optimization(spec(min_trades=10_000), data=spy)
    assert res.best_params == {} and res.n_feasible == 0
    with pytest.raises(ConfigError, match="no feasible parameter set"):
        res.best_request()


def test_random_search_is_seeded_without_replacement(spy):
    ranges = {"fast": [5, 10, 15, 20, 25, 30], "slow": [20, 40, 60, 80, 100, 150]}
    a = run_optimization(spec(ranges=ranges, method="random", n_trials=12, seed=7), data=spy)
    b = run_optimization(spec(ranges=ranges, method="random", n_trials=12, seed=7), data=spy)
    c = run_optimization(spec(ranges=ranges, method="random", n_trials=12, seed=8), data=spy)

    def trials(r):
        t = r.table.sort_index()
        return list(zip(t["fast"], t["slow"]))

    assert trials(a) == trials(b)
    assert set(trials(a)) != set(trials(c))
    assert len(set(trials(a))) == 12  # without replacement
    assert all(f < s and f in ranges["fast"] and s in ranges["slow"] for f, s in trials(a))
    # the documented draw: a permutation of the flat product (last parameter fastest), invalid sets skipped
    rng = np.random.default_rng(7)
    expected = []
    for i in rng.permutation(36):
        f, s = ranges["fast"][i // 6], ranges["slow"][i % 6]
        if f < s:
            expected.append((f, s))
    assert trials(a) == expected[:12]
    # asking for more trials than valid sets returns every valid set once
    every = run_optimization(spec(ranges=ranges, method="random", n_trials=1000), data=spy)
    assert len(every.table) == sum(f < s for f in ranges["fast"] for s in ranges["slow"])


def test_optuna_is_reproducible_and_beats_the_median_grid_set(spy):
    ranges = {"fast": list(range(5, 55, 5)), "slow": list(range(20, 220, 20))}
    grid = run_optimization(spec(ranges=ranges), data=spy)
    a = run_optimization(spec(ranges=ranges, method="optuna", n_trials=24, seed=3), data=spy)
    b = run_optimization(spec(ranges=ranges, method="optuna", n_trials=24, seed=3), data=spy)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert len(a.table) == 24
    assert len(set(zip(a.table["fast"], a.table["slow"]))) == 24  # distinct sets
    assert a.best_metrics["sharpe"] >= grid.table["objective"].median()
    # each Optuna trial is a real grid trial: its metrics equal the exhaustive grid's for the same set
    merged = a.table.merge(grid.table, on=["fast", "slow"], suffixes=("", "_grid"))
    assert len(merged) == 24
    np.testing.assert_allclose(merged["sharpe"], merged["sharpe_grid"], rtol=1e-12)


def test_default_grid_comes_from_the_params_bounds(spy):
    # sma_cross bounds: fast 5..100 step 5, slow 10..500 step 10; weight and allow_short held fixed
    data = spy.slice("2019-01-01", "2020-12-31")
    res = run_optimization(
        spec(ranges=None, fixed={"weight": 0.5, "allow_short": True}, objective="total_return"), data=data
    )
    expected = {(f, s) for f in range(5, 101, 5) for s in range(10, 501, 10) if f < s}
    assert set(zip(res.table["fast"], res.table["slow"])) == expected
    assert len(res.table) == len(expected)
    assert (res.table["weight"] == 0.5).all() and res.table["allow_short"].all()


def test_an_oversized_grid_is_refused(spy, monkeypatch):
    import engine.research.optimize

    monkeypatch.setattr(engine.research.optimize, "MAX_GRID", 10)
    with pytest.raises(ConfigError, match="the grid has 12 parameter sets.*use method 'random' or 'optuna'"):
        run_optimization(spec(), data=spy)
    assert len(run_optimization(spec(method="random", n_trials=5), data=spy).table) == 5


def test_progress_and_cancel_pass_through(spy):
    seen = []
    run_optimization(spec(), data=spy, progress=lambda d, n: seen.append((d, n)), workers=1)
    assert seen[-1] == (10, 10)
    with pytest.raises(ConfigError, match="cancelled"):
        run_optimization(spec(), data=spy, should_stop=lambda: True, workers=1)


def test_spec_round_trip_and_loading_from_the_spec(spy):
    s = spec(
        method="random",
        n_trials=5,
        seed=2,
        min_trades=3,
        constraints={"max_drawdown": (-0.5, None)},
        start="2012-01-01",
        end="2020-12-31",
    )
    again = OptimizeSpec.from_dict(s.to_dict())
    assert again == s
    loaded = run_optimization(s)  # loads SPY itself
    given = run_optimization(s, data=spy)
    pd.testing.assert_frame_equal(loaded.table, given.table)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ranges": {"fats": [5, 10]}}, r"unknown parameter\(s\) \['fats'\]"),
        ({"ranges": {"fast": []}}, "range of parameter 'fast' is empty"),
        ({"ranges": {"fast": ["x"]}}, "'x' is not a valid int"),
        ({"objective": "profit"}, "objective 'profit' is not a metric"),
        ({"method": "anneal"}, "method 'anneal'"),
        ({"n_trials": 0}, "n_trials must be >= 1"),
        ({"constraints": {"max_drawdown": (0.1, -0.1)}}, "low 0.1 is above high -0.1"),
        ({"fixed": {"fast": 5}}, r"\['fast'\] are both ranged and fixed"),
        ({"ranges": {"fast": [50], "slow": [20]}}, "no valid parameter set"),
    ],
)
def test_bad_specs_name_the_problem(spy, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        run_optimization(spec(**kwargs), data=spy)


def test_an_optimization_is_saved_as_a_run_with_its_table(spy, tmp_path):
    from engine.request import run_request
    from engine.store.runs import RunNotFound, RunStore

    res = run_optimization(spec(), data=spy)
    request = res.best_request()
    store = RunStore(tmp_path / "runs.db")
    run_id = store.save_optimization(run_request(request), request, res.table, spec=res.spec.to_dict())
    listed = store.list(kind="optimize")
    assert listed["id"].tolist() == [run_id]
    assert listed["sharpe"].iloc[0] == pytest.approx(res.best_metrics["sharpe"], rel=1e-12)
    loaded = store.load(run_id)
    assert loaded.kind == "optimize" and loaded.request.params == {**res.best_params}
    pd.testing.assert_frame_equal(store.load_frame(run_id, "optimization"), res.table)
    import json

    saved_spec = json.loads(store.load_frame(run_id, "optimization_spec")["spec_json"].iloc[0])
    assert OptimizeSpec.from_dict(saved_spec) == res.spec
    with pytest.raises(RunNotFound, match="no frame 'nothing'"):
        store.load_frame(run_id, "nothing")

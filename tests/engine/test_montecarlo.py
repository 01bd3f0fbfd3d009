"""Monte Carlo: reproducible draws, what each method varies, mean preservation, stress assumptions.

Independent computations: trade account returns and their compounding as plain Python loops over the trade
list and the equity curve; percentiles and drawdowns recomputed from the returned paths with numpy/loops.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.research.montecarlo import MonteCarloSpec, run_montecarlo
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IVYBT_HOME", str(tmp_path_factory.mktemp("ws")))
        yield


@pytest.fixture(scope="module")
def spy(home):
    return load_market_data(["SPY"])


@pytest.fixture(scope="module")
def sma(spy):
    return run_backtest(spy, create_strategy("sma_cross", {"fast": 10, "slow": 50}), BacktestConfig())


@pytest.fixture(scope="module")
def hold(spy):
    return run_backtest(spy, create_strategy("buy_and_hold"), BacktestConfig())


def account_returns(result, extra_bps: float = 0.0) -> list[float]:
    """Each trade's pnl / equity at the close before its entry bar (a plain loop over the trade list)."""
    equity = result.equity
    out = []
    for _, trade in result.trades.iterrows():
        pos = list(equity.index).index(trade["entry_time"])
        before = equity.iloc[pos - 1] if pos > 0 else result.config.initial_cash
        cost = 2 * extra_bps / 1e4 * abs(trade["quantity"] * trade["entry_price"]) / before
        out.append(trade["pnl"] / before - cost)
    return out


def compound(cash: float, returns) -> float:
    e = cash
    for r in returns:
        e = e * (1.0 + r)
    return e


@pytest.mark.parametrize("method", ["reshuffle", "bootstrap_trades", "block_bootstrap"])
def test_same_seed_same_paths_other_seed_other_paths(sma, method):
    a = run_montecarlo(sma, MonteCarloSpec(method=method, n_sims=200, seed=7))
    b = run_montecarlo(sma, MonteCarloSpec(method=method, n_sims=200, seed=7))
    c = run_montecarlo(sma, MonteCarloSpec(method=method, n_sims=200, seed=8))
    np.testing.assert_array_equal(a.paths, b.paths)
    assert a.percentiles.equals(b.percentiles) and a.prob_loss_beyond == b.prob_loss_beyond
    assert not np.array_equal(a.paths, c.paths)


def test_reshuffle_keeps_final_equity_exactly_and_varies_drawdowns(sma):
    cash = sma.config.initial_cash
    steps = account_returns(sma)
    mc = run_montecarlo(sma, MonteCarloSpec(method="reshuffle", n_sims=500, seed=1))
    assert mc.paths.shape == (500, len(steps) + 1)
    assert (mc.paths[:, 0] == cash).all()
    expected = compound(cash, steps)
    assert (mc.paths[:, -1] == expected).all()  # exactly, in every simulation
    # single-symbol, non-overlapping trades, no cash rate: compounding trades reproduces the backtest
    assert expected == pytest.approx(sma.equity.iloc[-1], rel=1e-9)
    # each path is a permutation of the same trade returns
    per_step = mc.paths[:, 1:] / mc.paths[:, :-1] - 1.0
    np.testing.assert_allclose(np.sort(per_step, axis=1), np.tile(np.sort(steps), (500, 1)), atol=1e-12)
    assert not (per_step == per_step[0]).all()
    dd = mc.percentiles["max_drawdown"]
    assert dd["p5"] < dd["p50"] < dd["p95"] <= 0
    assert mc.percentiles["final_equity"].nunique() == 1


def test_drawdowns_and_percentiles_match_the_paths(sma):
    mc = run_montecarlo(sma, MonteCarloSpec(method="bootstrap_trades", n_sims=300, seed=3, loss_threshold=0.1))
    final = mc.paths[:, -1]
    for q in (5, 25, 50, 75, 95):
        assert mc.percentiles.loc[f"p{q}", "final_equity"] == pytest.approx(np.percentile(final, q), rel=1e-12)
    assert mc.prob_loss_beyond == pytest.approx(np.mean(final < 0.9 * sma.config.initial_cash))
    for row in (0, 17, 299):  # max drawdown by a plain loop over the path (initial cash not in the peak)
        peak, worst = -np.inf, 0.0
        for e in mc.paths[row, 1:]:
            peak = max(peak, e)
            worst = min(worst, e / peak - 1.0)
        assert mc.max_drawdown[row] == pytest.approx(worst, abs=1e-12)
    # bootstrap draws only the backtest's own trades, with replacement: final equity varies
    per_step = mc.paths[:, 1:] / mc.paths[:, :-1] - 1.0
    steps = np.array(account_returns(sma))
    assert np.abs(per_step[..., None] - steps).min(axis=-1).max() < 1e-12
    assert final.std() > 0


def test_block_bootstrap_preserves_the_mean_return_within_sampling_error(hold):
    r = hold.returns.to_numpy()
    mc = run_montecarlo(hold, MonteCarloSpec(method="block_bootstrap", n_sims=2000, block_length=20, seed=11))
    per_step = mc.paths[:, 1:] / mc.paths[:, :-1] - 1.0
    means = per_step.mean(axis=1)
    se = means.std(ddof=1) / np.sqrt(len(means))
    assert abs(means.mean() - r.mean()) < 3 * se
    assert means.std() > 0  # the paths do differ
    fixed = run_montecarlo(hold, MonteCarloSpec(n_sims=1000, block_length=50, stationary=False, seed=2))
    per_step = fixed.paths[:, 1:] / fixed.paths[:, :-1] - 1.0
    m = per_step.mean(axis=1)
    assert abs(m.mean() - r.mean()) < 3 * m.std(ddof=1) / np.sqrt(len(m))


def test_fixed_blocks_are_contiguous_circular_segments(hold):
    r = hold.returns.to_numpy()
    n, length = len(r), 30
    mc = run_montecarlo(hold, MonteCarloSpec(n_sims=5, block_length=length, stationary=False, seed=4))
    steps = mc.paths[:, 1:] / mc.paths[:, :-1] - 1.0
    for row in steps:
        for b in range(0, n, length):
            block = row[b : b + length]
            matches = [
                k
                for k in np.flatnonzero(np.abs(r - block[0]) < 1e-12)
                if np.allclose(np.take(r, np.arange(k, k + len(block)), mode="wrap"), block, atol=1e-12)
            ]
            assert matches, f"block at {b} is not a contiguous segment of the returns"


@pytest.mark.parametrize("method", ["bootstrap_trades", "block_bootstrap", "reshuffle"])
def test_haircut_and_slippage_lower_the_median(sma, method):
    base = run_montecarlo(sma, MonteCarloSpec(method=method, n_sims=500, seed=5))
    cut = run_montecarlo(
        sma,
        MonteCarloSpec(
            method=method, n_sims=500, seed=5, win_rate_haircut=0.2 if method != "block_bootstrap" else 0.02
        ),
    )
    slip = run_montecarlo(sma, MonteCarloSpec(method=method, n_sims=500, seed=5, extra_slippage_bps=10))
    p50 = base.percentiles.loc["p50", "final_equity"]
    assert cut.percentiles.loc["p50", "final_equity"] < p50
    assert slip.percentiles.loc["p50", "final_equity"] < p50


def test_reshuffle_with_slippage_equals_the_hand_computed_cost(sma):
    mc = run_montecarlo(sma, MonteCarloSpec(method="reshuffle", n_sims=50, extra_slippage_bps=7, seed=0))
    expected = compound(sma.config.initial_cash, account_returns(sma, extra_bps=7))
    assert (mc.paths[:, -1] == expected).all()
    assert expected < sma.equity.iloc[-1]


def test_haircut_turns_winners_into_the_average_loss(sma):
    steps = np.array(account_returns(sma))
    avg_loss = steps[steps < 0].mean()
    mc = run_montecarlo(sma, MonteCarloSpec(method="reshuffle", n_sims=400, win_rate_haircut=0.3, seed=9))
    per_step = mc.paths[:, 1:] / mc.paths[:, :-1] - 1.0
    changed = np.abs(per_step - avg_loss) < 1e-12
    wins = (steps > 0).sum()
    share = (changed.sum(axis=1) - (np.abs(steps - avg_loss) < 1e-12).sum()) / wins
    assert abs(share.mean() - 0.3) < 0.02  # about 30% of the winners, on average


def test_block_bootstrap_slippage_charges_turnover(sma):
    """With blocks as long as the history and one block (fixed, start drawn), costs are per-bar turnover."""
    cash = sma.config.initial_cash
    fills = sma.fills
    traded = (fills["quantity"].abs() * fills["price"]).groupby(fills["time"]).sum()
    traded = traded.reindex(sma.equity.index, fill_value=0.0).to_numpy()
    prior = np.concatenate([[cash], sma.equity.to_numpy()[:-1]])
    adjusted = sma.returns.to_numpy() - 5 / 1e4 * traded / prior
    mc = run_montecarlo(
        sma, MonteCarloSpec(n_sims=3, block_length=len(adjusted), stationary=False, extra_slippage_bps=5, seed=0)
    )
    per_step = mc.paths[:, 1:] / mc.paths[:, :-1] - 1.0
    for row in per_step:
        starts = [
            k
            for k in np.flatnonzero(np.abs(adjusted - row[0]) < 1e-12)
            if np.allclose(np.roll(adjusted, -k)[:200], row[:200], atol=1e-12)
        ]
        assert starts, "no circular shift of the cost-adjusted returns matches the path"
        np.testing.assert_allclose(row, np.roll(adjusted, -starts[0]), atol=1e-12)


def test_speed_1000_block_bootstrap_paths(hold):
    run_montecarlo(hold, MonteCarloSpec(n_sims=10))  # compiled kernels loaded
    t0 = time.perf_counter()
    run_montecarlo(hold, MonteCarloSpec(n_sims=1000))
    assert time.perf_counter() - t0 < 2.0  # ~0.15 s on the dev box; generous for a loaded CI machine


def test_bad_specs_and_inputs_name_the_field(spy, hold):
    with pytest.raises(ConfigError, match="method"):
        MonteCarloSpec(method="shuffle")
    with pytest.raises(ConfigError, match="n_sims"):
        MonteCarloSpec(n_sims=0)
    with pytest.raises(ConfigError, match="win_rate_haircut"):
        MonteCarloSpec(win_rate_haircut=1.5)
    with pytest.raises(ConfigError, match="unknown field"):
        MonteCarloSpec.from_dict({"sims": 10})
    spec = MonteCarloSpec(method="reshuffle", n_sims=10, seed=3)
    assert MonteCarloSpec.from_dict(spec.to_dict()) == spec
    flat = run_backtest(spy, create_strategy("sma_cross", {"fast": 10, "slow": 50, "weight": 0.1}), BacktestConfig())
    flat.trades = flat.trades.iloc[0:0]
    with pytest.raises(ConfigError, match="no trades"):
        run_montecarlo(flat, MonteCarloSpec(method="bootstrap_trades"))


@pytest.mark.parametrize("method", ["reshuffle", "bootstrap_trades", "block_bootstrap"])
def test_progress_in_chunks_changes_no_number(sma, method, monkeypatch):
    import engine.research.montecarlo as mc_module

    spec = MonteCarloSpec(method=method, n_sims=250, seed=5, win_rate_haircut=0.1, extra_slippage_bps=2)
    monkeypatch.setattr(mc_module, "CHUNK", 10**6)  # one chunk: a single _compound call over every path
    whole = run_montecarlo(sma, spec)
    monkeypatch.setattr(mc_module, "CHUNK", 100)
    seen = []
    chunked = run_montecarlo(sma, spec, progress=lambda d, n: seen.append((d, n)), should_stop=lambda: False)
    assert seen == [(100, 250), (200, 250), (250, 250)]
    np.testing.assert_array_equal(chunked.paths, whole.paths)
    for name in ("final_equity", "max_drawdown", "sharpe"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))
    assert chunked.percentiles.equals(whole.percentiles) and chunked.summary == whole.summary


def test_should_stop_cancels_between_chunks(sma):
    seen = []
    with pytest.raises(ConfigError, match="cancelled"):
        run_montecarlo(
            sma, MonteCarloSpec(n_sims=1000), progress=lambda d, n: seen.append(d), should_stop=lambda: bool(seen)
        )
    assert seen == [100]
    with pytest.raises(ConfigError, match="cancelled"):
        run_montecarlo(sma, MonteCarloSpec(n_sims=10), should_stop=lambda: True)


def test_saved_montecarlo_run_holds_the_backtest_and_the_percentiles(sma, tmp_path):
    from engine.request import BacktestRequest
    from engine.research.montecarlo import save_montecarlo
    from engine.store.runs import RunStore

    request = BacktestRequest(strategy="sma_cross", params={"fast": 10, "slow": 50}, symbols=("SPY",))
    mc = run_montecarlo(sma, MonteCarloSpec(n_sims=200, seed=2))
    store = RunStore(tmp_path / "runs.db")
    run_id = save_montecarlo(mc, sma, request, store=store)
    assert store.list()["kind"].tolist() == ["montecarlo"]
    stored = store.load(run_id)
    np.testing.assert_array_equal(stored.result.equity.to_numpy(), sma.equity.to_numpy())
    assert stored.request == request and "200 paths, seed 2" in stored.name
    assert store.load_frame(run_id, "montecarlo_percentiles").equals(mc.percentiles)
    samples = store.load_frame(run_id, "montecarlo_samples")
    np.testing.assert_array_equal(samples["final_equity"].to_numpy(), mc.paths[:, -1])
    payload = store.load_payload(run_id)
    assert payload["prob_loss_beyond"] == mc.prob_loss_beyond and payload["spec"] == mc.spec.to_dict()
    assert payload["percentiles"]["p5"]["max_drawdown"] == mc.percentiles.loc["p5", "max_drawdown"]

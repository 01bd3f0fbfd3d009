"""The robustness scorecard (values recomputed from individual backtests) and the montecarlo/scorecard CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.request import BacktestRequest
from engine.research.montecarlo import MonteCarloSpec, run_montecarlo
from engine.research.overfitting import deflated_sharpe_ratio
from engine.research.scorecard import VERDICTS, build_scorecard
from engine.research.sensitivity import breakeven_commission
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

IVYBT = Path(sys.executable).parent / "ivybt"
REQUEST = BacktestRequest(
    strategy="sma_cross",
    params={"fast": 10, "slow": 50},
    symbols=("SPY",),
    start="2005-01-01",
    config=BacktestConfig(costs=Costs(commission_bps=1)),
)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("ws")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IVYBT_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def card(home):
    return build_scorecard(REQUEST, montecarlo=MonteCarloSpec(n_sims=500, seed=1))


@pytest.fixture(scope="module")
def trials(home):
    """The default grid recomputed by hand: fast 5..20 (step 5, -2..+2 around 10, >= 5), slow 30..70."""
    data = load_market_data(["SPY"], REQUEST.start)
    rows = []
    for fast in (5, 10, 15, 20):
        for slow in (30, 40, 50, 60, 70):
            res = run_backtest(data, create_strategy("sma_cross", {"fast": fast, "slow": slow}), REQUEST.config)
            rows.append({"fast": fast, "slow": slow, "sharpe": res.metrics["sharpe"], "returns": res.returns})
    return rows


def test_every_line_has_a_value_and_a_verdict(card):
    names = [line.name for line in card.lines]
    for expected in (
        "Sharpe ratio",
        "Deflated Sharpe ratio",
        "Probability of backtest overfitting",
        "Plateau score",
        "Monte Carlo 5th percentile final equity",
        "Monte Carlo 5th percentile max drawdown",
        "Probability of a loss beyond 20%",
        "Fill sensitivity",
        "Break-even commission",
        "Number of trades",
        "Exposure",
    ):
        assert expected in names
    for line in card.lines:
        assert line.verdict in VERDICTS and line.detail and ("pass" in line.detail or "Not computed" in line.detail)
    assert card.overall in VERDICTS
    assert sum(card.counts().values()) == len(card.lines)
    frame = card.to_frame()
    assert list(frame.columns) == ["name", "value", "verdict", "detail"] and len(frame) == len(card.lines)


def test_values_equal_independent_computations(card, trials, home):
    stats = pytest.importorskip("scipy.stats")
    data = load_market_data(["SPY"], REQUEST.start)
    result = run_backtest(data, create_strategy("sma_cross", REQUEST.params), REQUEST.config)
    assert card.line("Sharpe ratio").value == pytest.approx(result.metrics["sharpe"], rel=1e-12)
    assert card.line("Number of trades").value == result.metrics["n_trades"]
    assert card.line("Exposure").value == pytest.approx(result.metrics["exposure"], rel=1e-12)
    assert card.line("Break-even commission").value == pytest.approx(breakeven_commission(REQUEST), rel=1e-12)
    # deflated Sharpe from the hand-made grid's 20 trials
    r = result.returns.to_numpy()
    per_bar = [t["sharpe"] / math.sqrt(252) for t in trials]
    dsr = deflated_sharpe_ratio(
        r.mean() / r.std(ddof=1),
        len(r),
        len(trials),
        float(np.var(per_bar, ddof=1)),
        float(stats.skew(r)),
        float(stats.kurtosis(r, fisher=False)),
    )
    assert card.line("Deflated Sharpe ratio").value == pytest.approx(dsr, rel=1e-9)
    # plateau: the 8 neighbours of (10, 50) on the grid, mean Sharpe / its Sharpe
    sharpe = {(t["fast"], t["slow"]): t["sharpe"] for t in trials}
    near = [sharpe[(f, s)] for f in (5, 10, 15) for s in (40, 50, 60) if (f, s) != (10, 50)]
    assert card.line("Plateau score").value == pytest.approx(np.mean(near) / sharpe[(10, 50)], rel=1e-12)
    # Monte Carlo lines: the same spec run directly
    mc = run_montecarlo(result, MonteCarloSpec(n_sims=500, seed=1))
    assert card.line("Monte Carlo 5th percentile final equity").value == pytest.approx(
        mc.percentiles.loc["p5", "final_equity"] / REQUEST.config.initial_cash, rel=1e-12
    )
    assert card.line("Probability of a loss beyond 20%").value == mc.prob_loss_beyond
    # verdicts follow the stated thresholds
    trades = card.line("Number of trades")
    assert trades.verdict == ("pass" if trades.value >= 30 else "warn" if trades.value >= 10 else "fail")


def test_given_trials_walkforward_and_more_trials_deflate_more(trials, home):
    from engine.research.optimize import OptimizeSpec
    from engine.research.walkforward import WalkForwardSpec, run_walkforward

    table = pd.DataFrame([{k: t[k] for k in ("fast", "slow", "sharpe")} for t in trials])
    returns = np.column_stack([t["returns"].to_numpy() for t in trials])
    wf = run_walkforward(
        WalkForwardSpec(
            OptimizeSpec(
                strategy="sma_cross", symbols=("SPY",), start="2005-01-01", ranges={"fast": [10, 20], "slow": [50, 100]}
            ),
            in_sample="3Y",
            out_of_sample="1Y",
        )
    )
    few = build_scorecard(
        REQUEST, grid_table=table, trial_returns=returns, walkforward=wf, montecarlo=MonteCarloSpec(n_sims=100)
    )
    many = build_scorecard(REQUEST, n_trials=1000, grid_table=table, montecarlo=MonteCarloSpec(n_sims=100))
    line = few.line("Walk-forward efficiency")
    assert line.value == pytest.approx(wf.efficiency, nan_ok=True) and line.verdict in VERDICTS
    assert many.line("Deflated Sharpe ratio").value < few.line("Deflated Sharpe ratio").value
    assert few.info["pbo"]["n_trials"] == 20
    with pytest.raises(KeyError):
        many.line("Probability of backtest overfitting")  # no return matrix given -> no PBO line


def test_buy_and_hold_fails_on_trades_and_passes_on_costs(home):
    card = build_scorecard(
        BacktestRequest(strategy="buy_and_hold", symbols=("SPY",), start="2010-01-01"),
        montecarlo=MonteCarloSpec(n_sims=200),
    )
    assert card.line("Number of trades").verdict == "fail"
    assert card.line("Break-even commission").value == math.inf
    assert card.line("Break-even commission").verdict == "pass"
    pbo = card.line("Probability of backtest overfitting")  # renormalize True/False trade identically
    assert math.isnan(pbo.value) and "Not computed" in pbo.detail


def test_progress_over_the_steps_cancel_between_them_and_save(card, home):
    from engine.research.scorecard import STEPS, save_scorecard
    from engine.store.runs import RunStore

    seen = []
    again = build_scorecard(
        REQUEST,
        montecarlo=MonteCarloSpec(n_sims=500, seed=1),
        progress=lambda d, n: seen.append((d, n)),
        should_stop=lambda: False,
    )
    assert seen == [(i, len(STEPS)) for i in range(1, len(STEPS) + 1)]
    assert again.to_frame().equals(card.to_frame())  # the hooks change no number
    for stop_after in (1, 3, 5):
        done = []
        with pytest.raises(ConfigError, match="cancelled"):
            build_scorecard(
                REQUEST,
                montecarlo=MonteCarloSpec(n_sims=500, seed=1),
                progress=lambda d, n, done=done: done.append(d),
                should_stop=lambda done=done, stop_after=stop_after: len(done) >= stop_after,
            )
        assert done == list(range(1, stop_after + 1))
    run_id = save_scorecard(card)
    store = RunStore()
    assert store.list()["kind"].tolist() == ["scorecard"]
    stored = store.load(run_id)
    single = run_backtest(
        load_market_data(["SPY"], REQUEST.start), create_strategy("sma_cross", REQUEST.params), REQUEST.config
    )
    np.testing.assert_array_equal(stored.result.equity.to_numpy(), single.equity.to_numpy())
    assert stored.request == REQUEST and card.overall in stored.name
    assert store.load_frame(run_id, "scorecard").equals(card.to_frame())
    payload = store.load_payload(run_id)
    assert payload["overall"] == card.overall and payload["counts"] == card.counts()
    assert payload["info"]["breakeven_commission_bps"] == card.info["breakeven_commission_bps"]
    store.delete(run_id)


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "IVYBT_HOME": str(home)}
    env.pop("IVYBT_PRESETS", None)
    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=env, timeout=600)


def cli_json(*args: str, home: Path) -> dict:
    proc = cli(*args, "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


FLAGS = (
    "--strategy",
    "sma_cross",
    "--symbols",
    "SPY",
    "--param",
    "fast=10",
    "--param",
    "slow=50",
    "--start",
    "2012-01-01",
)


def test_cli_montecarlo_json_from_flags_and_from_a_saved_run(home):
    out = cli_json("montecarlo", *FLAGS, "--method", "reshuffle", "--sims", "300", "--seed", "3", home=home)
    assert set(out["percentiles"]) == {"p5", "p25", "p50", "p75", "p95"}
    finals = {row["final_equity"] for row in out["percentiles"].values()}
    assert len(finals) == 1  # reshuffle: final equity unchanged
    data = load_market_data(["SPY"], "2012-01-01")
    result = run_backtest(data, create_strategy("sma_cross", {"fast": 10, "slow": 50}), BacktestConfig())
    direct = run_montecarlo(result, MonteCarloSpec(method="reshuffle", n_sims=300, seed=3))
    assert out["percentiles"]["p5"]["max_drawdown"] == pytest.approx(direct.percentiles.loc["p5", "max_drawdown"])
    saved = cli_json("backtest", *FLAGS, "--save", home=home)
    again = cli_json(
        "montecarlo", "--run-id", saved["run_id"], "--method", "reshuffle", "--sims", "300", "--seed", "3", home=home
    )
    assert again["run_id"] == saved["run_id"] and again["percentiles"] == out["percentiles"]
    text = cli("montecarlo", *FLAGS, "--sims", "200", home=home)
    assert text.returncode == 0 and "p95" in text.stdout and "P(final equity <" in text.stdout


def test_cli_scorecard_json_and_errors(home):
    out = cli_json("scorecard", *FLAGS, "--sims", "200", home=home)
    assert out["overall"] in VERDICTS
    assert {line["verdict"] for line in out["lines"]} <= set(VERDICTS)
    assert any(line["name"] == "Deflated Sharpe ratio" for line in out["lines"])
    assert out["metrics"]["n_trades"] > 0
    bad = cli("montecarlo", *FLAGS, "--sims", "0", home=home)
    assert bad.returncode == 2 and "n_sims" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    both = cli("montecarlo", "--run-id", "abc", *FLAGS, home=home)
    assert both.returncode == 2 and "--run-id" in both.stderr


def _wf_line(out: dict) -> dict:
    (line,) = [line for line in out["lines"] if line["name"] == "Walk-forward efficiency"]
    return line


def test_cli_scorecard_walkforward_efficiency_equals_run_walkforward(home):
    from engine.research.optimize import OptimizeSpec
    from engine.research.walkforward import WalkForwardSpec, run_walkforward

    out = cli_json(
        "scorecard",
        *FLAGS,
        "--sims",
        "200",
        "--in-sample",
        "3Y",
        "--out-of-sample",
        "1Y",
        "--range",
        "fast=5:15:5",
        "--range",
        "slow=40:60:10",
        home=home,
    )
    ranges = {"fast": [5, 10, 15], "slow": [40, 50, 60]}
    wf = run_walkforward(
        WalkForwardSpec(
            OptimizeSpec(strategy="sma_cross", symbols=("SPY",), start="2012-01-01", ranges=ranges), "3Y", "1Y"
        )
    )
    assert math.isfinite(wf.efficiency)
    assert _wf_line(out)["value"] == wf.efficiency
    assert out["walkforward"]["efficiency"] == wf.efficiency and out["walkforward"]["windows"] == len(wf.windows)
    assert [(c["fast"], c["slow"]) for c in out["walkforward"]["chosen"]] == list(
        zip(wf.windows["fast"], wf.windows["slow"])
    )
    # without --range: the scorecard's own neighbourhood grid (fast 5..20, slow 30..70 around 10/50), anchored
    anchored = cli_json(
        "scorecard", *FLAGS, "--sims", "200", "--in-sample", "750", "--out-of-sample", "500", "--anchored", home=home
    )
    wf = run_walkforward(
        WalkForwardSpec(
            OptimizeSpec(
                strategy="sma_cross",
                symbols=("SPY",),
                start="2012-01-01",
                ranges={"fast": [5, 10, 15, 20], "slow": [30, 40, 50, 60, 70]},
            ),
            750,
            500,
            anchored=True,
        )
    )
    assert anchored["walkforward"]["spec"]["anchored"] is True
    assert math.isfinite(wf.efficiency) and _wf_line(anchored)["value"] == wf.efficiency
    assert "Walk-forward efficiency" not in {
        line["name"] for line in cli_json("scorecard", *FLAGS, "--sims", "50", home=home)["lines"]
    }


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--in-sample", "3Y"], "--out-of-sample is missing"),
        (["--anchored"], "need --in-sample and --out-of-sample"),
        (["--in-sample", "3Y", "--out-of-sample", "1Q"], "out-of-sample: '1Q'"),
        (["--in-sample", "3Y", "--out-of-sample", "1Y", "--workers", "0"], "--workers 0: must be >= 1"),
    ],
)
def test_cli_scorecard_walkforward_errors_are_one_line(home, extra, message):
    proc = cli("scorecard", *FLAGS, "--sims", "50", *extra, home=home)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_cli_save_montecarlo_and_scorecard_runs(home):
    from engine.store.runs import RunStore

    before = set(RunStore().list()["id"])
    mc = cli_json("montecarlo", *FLAGS, "--sims", "150", "--seed", "4", "--save", "--name", "mc spy", home=home)
    card = cli_json("scorecard", *FLAGS, "--sims", "150", "--save", home=home)
    store = RunStore()
    new = store.list()
    new = new[~new["id"].isin(before)]
    assert sorted(zip(new["kind"], new["id"])) == sorted(
        [("montecarlo", mc["saved_run_id"]), ("scorecard", card["run_id"])]
    )
    data = load_market_data(["SPY"], "2012-01-01")
    single = run_backtest(data, create_strategy("sma_cross", {"fast": 10, "slow": 50}), BacktestConfig())
    direct = run_montecarlo(single, MonteCarloSpec(n_sims=150, seed=4))
    stored = store.load(mc["saved_run_id"])
    assert stored.name == "mc spy"
    np.testing.assert_array_equal(stored.result.equity.to_numpy(), single.equity.to_numpy())
    assert store.load_payload(mc["saved_run_id"])["prob_loss_beyond"] == direct.prob_loss_beyond
    pd.testing.assert_frame_equal(
        store.load_frame(mc["saved_run_id"], "montecarlo_percentiles"),
        direct.percentiles,
        check_exact=False,
        rtol=1e-12,
    )
    lines = store.load_frame(card["run_id"], "scorecard").set_index("name")
    assert lines.loc["Sharpe ratio", "value"] == single.metrics["sharpe"]
    assert store.load_payload(card["run_id"])["overall"] == card["overall"]

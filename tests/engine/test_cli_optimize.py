"""`ivybt optimize` and `ivybt walkforward` run as the console script: JSON equals the engine call, bad input is
one line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.cli.optimize import parse_constraint, parse_range
from engine.config import BacktestConfig, Costs
from engine.errors import ConfigError
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.research.walkforward import WalkForwardSpec, run_walkforward

IVYBT = Path(sys.executable).parent / "ivybt"
BASE = [
    "--strategy",
    "sma_cross",
    "--symbols",
    "SPY",
    "--start",
    "2010-01-01",
    "--end",
    "2020-12-31",
    "--commission-bps",
    "5",
]
RANGES = ["--range", "fast=5:20:5", "--range", "slow=30:90:30"]
SPEC = dict(
    strategy="sma_cross",
    symbols=("SPY",),
    start="2010-01-01",
    end="2020-12-31",
    config=BacktestConfig(costs=Costs(commission_bps=5)),
    ranges={"fast": [5, 10, 15, 20], "slow": [30, 60, 90]},
)


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "IVYBT_HOME": str(home)}
    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=env, timeout=600)


def cli_json(*args: str, home: Path) -> dict:
    proc = cli(*args, "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_parse_range_and_constraint():
    assert parse_range("fast=5:50:5") == ("fast", list(range(5, 51, 5)))
    assert parse_range("slow=20:23") == ("slow", [20, 21, 22, 23])
    assert parse_range("weight=0.5:1:0.25") == ("weight", [0.5, 0.75, 1.0])
    assert parse_range("weight=0.1:0.3:0.1") == ("weight", [0.1, 0.2, 0.3])
    assert parse_range("allow_short=false, true") == ("allow_short", ["false", "true"])
    assert parse_constraint("max_drawdown=-0.3:") == ("max_drawdown", (-0.3, None))
    assert parse_constraint("n_trades=:40") == ("n_trades", (None, 40.0))
    for bad, message in [
        ("fast", "expected NAME="),
        ("fast=", "expected NAME="),
        ("fast=9:5", "empty"),
        ("fast=1:5:0", "STEP must be a positive"),
        ("fast=a:b", "must be numbers"),
        ("fast=1:2:3:4", "START:STOP"),
        ("fast=,", "empty"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_range(bad)


def test_optimize_json_equals_the_engine_call(home):
    out = cli_json("optimize", *BASE, *RANGES, "--top", "4", home=home)
    engine = run_optimization(OptimizeSpec(**SPEC))
    assert out["spec"] == json.loads(json.dumps(engine.spec.to_dict()))
    assert out["n_trials"] == len(engine.table) == 12  # 4 x 3, every fast < slow
    assert out["best_params"] == engine.best_params
    assert out["best_metrics"]["sharpe"] == engine.best_metrics["sharpe"]
    top = engine.table.head(4)
    assert [r["trial"] for r in out["top"]] == top.index.tolist()
    assert [(r["fast"], r["slow"]) for r in out["top"]] == list(zip(top["fast"], top["slow"]))
    assert [r["objective"] for r in out["top"]] == top["objective"].tolist()


def test_random_minimize_constraints_and_fixed_params(home):
    args = [
        "optimize",
        *BASE,
        *RANGES,
        "--method",
        "random",
        "--trials",
        "5",
        "--seed",
        "4",
        "--objective",
        "annual_volatility",
        "--minimize",
        "--min-trades",
        "10",
        "--constraint",
        "max_drawdown=-0.5:",
        "--param",
        "weight=0.5",
        "--top",
        "5",
    ]
    out = cli_json(*args, home=home)
    engine = run_optimization(
        OptimizeSpec(
            **{
                **SPEC,
                "method": "random",
                "n_trials": 5,
                "seed": 4,
                "objective": "annual_volatility",
                "maximize": False,
                "min_trades": 10,
                "constraints": {"max_drawdown": (-0.5, None)},
                "fixed": {"weight": 0.5},
            }
        )
    )
    assert [(r["fast"], r["slow"], r["feasible"]) for r in out["top"]] == list(
        zip(engine.table["fast"], engine.table["slow"], engine.table["feasible"])
    )
    assert all(r["weight"] == 0.5 for r in out["top"])
    assert out["best_params"] == engine.best_params
    text = cli(*args, home=home)
    assert text.returncode == 0 and "minimizing annual_volatility" in text.stdout
    assert f"best: {engine.best_params}" in text.stdout


def test_optimize_save_stores_an_optimize_run(home):
    out = cli_json("optimize", *BASE, *RANGES, "--save", "--name", "sma sweep", home=home)
    from engine.store.runs import RunStore

    store = RunStore()
    listed = store.list(kind="optimize")
    assert listed["id"].tolist() == [out["run_id"]] and listed["name"].tolist() == ["sma sweep"]
    assert store.load(out["run_id"]).request.params == out["best_params"]
    assert len(store.load_frame(out["run_id"], "optimization")) == out["n_trials"]


def test_walkforward_json_equals_the_engine_call(home):
    out = cli_json("walkforward", *BASE, *RANGES, "--in-sample", "3Y", "--out-of-sample", "1Y", home=home)
    engine = run_walkforward(WalkForwardSpec(OptimizeSpec(**SPEC), "3Y", "1Y"))
    assert out["spec"] == json.loads(json.dumps(engine.spec.to_dict()))
    assert len(out["windows"]) == len(engine.windows) == 8
    assert [(w["fast"], w["slow"]) for w in out["windows"]] == list(zip(engine.windows["fast"], engine.windows["slow"]))
    assert [w["oos_return"] for w in out["windows"]] == engine.windows["oos_return"].tolist()
    assert out["efficiency"] == engine.efficiency
    assert out["oos_final_equity"] == engine.oos_equity.iloc[-1]
    assert out["windows"][0]["oos_start"].startswith("2013-01-")
    anchored = cli_json(
        "walkforward", *BASE, *RANGES, "--in-sample", "750", "--out-of-sample", "250", "--anchored", home=home
    )
    assert {w["is_start"] for w in anchored["windows"]} == {out["windows"][0]["is_start"]}
    text = cli("walkforward", *BASE, *RANGES, "--in-sample", "3Y", "--out-of-sample", "1Y", home=home)
    assert text.returncode == 0 and "walk-forward efficiency" in text.stdout


def test_walkforward_save_lists_the_run_with_the_stitched_equity(home):
    out = cli_json(
        "walkforward",
        *BASE,
        *RANGES,
        "--in-sample",
        "3Y",
        "--out-of-sample",
        "1Y",
        "--save",
        "--name",
        "wf sweep",
        home=home,
    )
    listed = cli_json("runs", "list", home=home)["runs"]
    assert [(r["id"], r["kind"], r["name"]) for r in listed] == [(out["run_id"], "walkforward", "wf sweep")]
    engine = run_walkforward(WalkForwardSpec(OptimizeSpec(**SPEC), "3Y", "1Y"))  # independent, in this process
    assert listed[0]["start"].startswith(f"{engine.oos_equity.index[0]:%Y-%m-%d}")
    assert listed[0]["sharpe"] == engine.oos_metrics["sharpe"]
    from engine.store.runs import RunStore

    store = RunStore()
    stored = store.load(out["run_id"])
    pd.testing.assert_series_equal(stored.result.equity, engine.oos_equity, check_exact=True)
    chosen = store.load_payload(out["run_id"])["chosen"]
    assert [(c["fast"], c["slow"]) for c in chosen] == list(zip(engine.windows["fast"], engine.windows["slow"]))
    shown = cli("runs", "show", out["run_id"], home=home)
    assert shown.returncode == 0 and "walkforward" in shown.stdout, shown.stderr
    text = cli("walkforward", *BASE, *RANGES, "--in-sample", "3Y", "--out-of-sample", "1Y", "--save", home=home)
    assert text.returncode == 0 and text.stdout.strip().splitlines()[-1].startswith("saved run ")
    assert len(store.list(kind="walkforward")) == 2


def test_walkforward_workers_run_windows_on_processes_with_the_same_result(home):
    serial = cli_json("walkforward", *BASE, *RANGES, "--in-sample", "3Y", "--out-of-sample", "2Y", home=home)
    pooled = cli_json(
        "walkforward", *BASE, *RANGES, "--in-sample", "3Y", "--out-of-sample", "2Y", "--workers", "2", home=home
    )
    assert serial.pop("elapsed") >= 0 and pooled.pop("elapsed") >= 0
    assert pooled == serial


@pytest.mark.parametrize(
    "args, message",
    [
        (["optimize", *BASE, "--range", "fats=5:20:5"], "unknown parameter(s) ['fats']"),
        (["optimize", *BASE, "--range", "fast=20:5:5"], "'fast=20:5:5': the range is empty"),
        (["optimize", *BASE, "--range", "fast=x:y"], "must be numbers"),
        (["optimize", *BASE, "--range", "fast=5:20:5", "--param", "fast=5"], "both --param and --range"),
        (["optimize", *BASE, "--range", "fast=50", "--range", "slow=20"], "no valid parameter set"),
        (["optimize", *BASE, *RANGES, "--objective", "profit"], "invalid choice: 'profit'"),
        (["optimize", *BASE, *RANGES, "--trials", "0"], "--trials 0"),
        (["optimize", *BASE, *RANGES, "--workers", "0"], "--workers 0: must be >= 1"),
        (["optimize", *BASE, *RANGES, "--workers", "-2"], "--workers -2: must be >= 1"),
        (
            ["walkforward", *BASE, *RANGES, "--in-sample", "3Y", "--out-of-sample", "1Y", "--workers", "0"],
            "--workers 0: must be >= 1",
        ),
        (["optimize", *BASE, *RANGES, "--constraint", "drawdown=-1:"], "unknown metric 'drawdown'"),
        (["optimize", "--symbols", "SPY", *RANGES], "give --strategy"),
        (
            ["walkforward", *BASE, *RANGES, "--in-sample", "20Y", "--out-of-sample", "1Y"],
            "in-sample length 20Y is longer than the data",
        ),
        (["walkforward", *BASE, *RANGES, "--in-sample", "3Q", "--out-of-sample", "1Y"], "in-sample: '3Q'"),
        (["walkforward", *BASE, *RANGES, "--out-of-sample", "1Y"], "--in-sample"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(home, args, message):
    proc = cli(*args, home=home)
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivybt: error: "), proc.stderr
    assert message in lines[0]
    assert proc.stdout == ""

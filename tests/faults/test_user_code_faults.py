"""User strategies are code: listing never runs them, running them is limited in time and memory, built-ins stay in
process, and a user strategy's numbers are the same as when it ran in process (issue 15, item 2)."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.sim.grid import run_grid
from engine.sim.simulate import run_backtest
from engine.strategies import registry, sandbox
from tests.faults.user_code_helpers import (
    BOMB,
    CANARY,
    HOLD,
    IVYBT,
    SPIN,
    alive,
    env_for,
    pid_of,
    run_ivybt,
    wait_for,
    write_strategies,
)

LINE = "ivybt: error: "


def test_user_strategy_import_side_effect_not_run_by_listing(home: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("alive")
    write_strategies(home, f"\nCANARY_FILE = {str(canary)!r}\n", CANARY)
    (home / "strategies" / "broken.py").write_text("def broken(:\n")

    listed = run_ivybt("strategies", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    out = json.loads(listed.stdout)
    assert canary.exists()
    assert out["strategies"]["canary"]["description"] == "deletes the canary file when imported"
    window, scale = out["strategies"]["canary"]["params"]
    assert (window["name"], window["type"], window["default"], window["low"], window["high"], window["step"]) == (
        "window", "int", 20, 5, 100, 5,
    )  # fmt: skip
    assert (scale["type"], scale["default"], scale["doc"]) == ("float", 0.5, "weight")
    assert out["load_errors"] == {"broken.py": "syntax error at line 1: invalid syntax"}

    registry.reload()
    assert "canary" in registry.list_strategies() and canary.exists()  # the registry's list, in this process
    assert registry.load_errors() == {"broken.py": "syntax error at line 1: invalid syntax"}

    ran = run_ivybt("backtest", "--strategy", "canary", "--symbols", "SPY", home=home)
    assert ran.returncode == 0, ran.stderr
    assert not canary.exists()  # running it does import it: in the sandbox child


def test_user_strategy_infinite_loop_times_out(home: Path) -> None:
    write_strategies(home, SPIN)
    proc = run_ivybt("backtest", "--strategy", "spin", "--symbols", "SPY", "--timeout", "2", home=home)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"{LINE}user strategy 'spin' stopped: time limit 2 s exceeded in target_weights "
        "(IVYBT_USER_CODE_TIMEOUT or --timeout)"
    ]
    assert not alive(pid_of(home, "spin"))  # SIGKILL: it ignored SIGTERM and SIGINT


def test_user_strategy_infinite_loop_times_out_by_environment(home: Path) -> None:
    write_strategies(home, SPIN)
    proc = run_ivybt("audit", "spin", "--symbols", "SPY", home=home, IVYBT_USER_CODE_TIMEOUT="1.5")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{LINE}user strategy 'spin' stopped: time limit 1.5 s exceeded in target_weights "
        "(IVYBT_USER_CODE_TIMEOUT or --timeout)"
    ]
    assert not alive(pid_of(home, "spin"))


def test_user_strategy_child_dies_when_the_engine_process_is_killed(home: Path) -> None:
    write_strategies(home, SPIN)
    engine = subprocess.Popen(
        [str(IVYBT), "backtest", "--strategy", "spin", "--symbols", "SPY", "--timeout", "600"],
        env=env_for(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: (home / "pids" / "spin.pid").exists(), "the spinning strategy to start")
        child = pid_of(home, "spin")
        assert alive(child)
    finally:
        engine.send_signal(signal.SIGKILL)
        engine.wait(60)
    wait_for(lambda: not alive(child), "the orphaned sandbox child to die")


def test_user_strategy_memory_limit(home: Path) -> None:
    write_strategies(home, BOMB)
    proc = run_ivybt("backtest", "--strategy", "bomb", "--symbols", "SPY", "--memory-mb", "700", home=home)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"{LINE}user strategy 'bomb' stopped: memory limit 700 MB exceeded in target_weights "
        "(IVYBT_USER_CODE_MEMORY_MB or --memory-mb)"
    ]
    assert not alive(pid_of(home, "bomb"))


@pytest.mark.parametrize(
    "args, line",
    [
        (["--timeout", "soon"], "--timeout 'soon': not a number"),
        (["--timeout", "-1"], "--timeout '-1': must be a positive number"),
        (["--memory-mb", "64"], "--memory-mb '64': at least 256 (MB; Python and pandas need ~400)"),
    ],
)
def test_user_code_limit_option_bad_value_one_line(home: Path, args: list[str], line: str) -> None:
    proc = run_ivybt("backtest", "--strategy", "sma_cross", "--symbols", "SPY", *args, home=home)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"{LINE}{line} (see `ivybt backtest --help`)"]


def test_user_code_limit_environment_bad_value_one_line(home: Path) -> None:
    write_strategies(home, HOLD)
    proc = run_ivybt("backtest", "--strategy", "half_hold", "--symbols", "SPY", home=home, IVYBT_USER_CODE_TIMEOUT="0")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"{LINE}IVYBT_USER_CODE_TIMEOUT='0': must be a positive number"]


def _in_process(path: Path, class_name: str) -> type:
    """The user class imported into this test process (what the registry did before the sandbox)."""
    spec = importlib.util.spec_from_file_location(f"fault_in_process_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, class_name)


def test_user_strategy_in_sandbox_bit_identical_to_in_process(home: Path) -> None:
    path = write_strategies(home, HOLD)
    registry.reload()
    own = _in_process(path, "Half")
    data = load_market_data(["SPY", "TLT"], "2012-01-01", "2020-12-31")
    config = BacktestConfig()
    ours = run_backtest(data, registry.create_strategy("half_hold", {"length": 30}), config)
    theirs = run_backtest(data, own({"length": 30}), config)
    for name in ("equity", "weights", "positions", "cash"):
        np.testing.assert_array_equal(getattr(ours, name).to_numpy(), getattr(theirs, name).to_numpy())
    assert ours.metrics["n_trades"] == theirs.metrics["n_trades"] > 0

    sets = [{"length": n} for n in (5, 10, 20, 40, 60)]
    grid_ours = run_grid(data, registry.get_strategy("half_hold"), sets, config)
    grid_theirs = run_grid(data, own, sets, config)
    np.testing.assert_array_equal(grid_ours.equity.to_numpy(), grid_theirs.equity.to_numpy())
    single = run_backtest(data, own({"length": 20}), config).equity.to_numpy()
    np.testing.assert_array_equal(grid_ours.equity.iloc[:, 2].to_numpy(), single)


def test_user_strategy_params_rules_run_in_the_sandbox(home: Path) -> None:
    """The user's __post_init__ is code: it runs in the sandbox and its error is the same as in process."""
    write_strategies(home, HOLD)
    registry.reload()
    with pytest.raises(ConfigError, match=r"^invalid parameters \{'length': 1\}: length must be >= 2, got 1$"):
        registry.create_strategy("half_hold", {"length": 1})


def test_builtin_strategy_runs_in_process_without_a_child(home: Path) -> None:
    write_strategies(home, HOLD)
    registry.reload()
    before, children = sandbox.workers_started(), set(multiprocessing.active_children())
    data = load_market_data(["SPY"], "2018-01-01", "2020-12-31")
    result = run_backtest(data, registry.create_strategy("sma_cross", {"fast": 10, "slow": 50}), BacktestConfig())
    grid = run_grid(data, registry.get_strategy("sma_cross"), [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 30}])
    assert result.metrics["n_trades"] > 0 and grid.equity.shape == (len(data), 2)
    assert sandbox.workers_started() == before
    assert set(multiprocessing.active_children()) <= children

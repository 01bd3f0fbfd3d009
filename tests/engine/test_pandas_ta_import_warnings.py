"""pandas is pinned to the tested range, and a backtest of every built-in strategy raises no Pandas4Warning (issue
16 item 11): pandas-ta 0.4.71b0 sets a deprecated pandas option and reads a deprecated Timestamp attribute while
importing; engine.strategies.common imports it with those two warnings silenced, nothing else."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version

from packaging.requirements import Requirement

from tests.pages.page_helpers import ROOT

SCRIPT = """
import warnings

from pandas.errors import Pandas4Warning

warnings.simplefilter("error", Pandas4Warning)  # (-W cannot name pandas' class: it is parsed before site-packages)

from engine.data import load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy, list_strategies

data = load_market_data(["SPY", "QQQ", "TLT", "GLD"])
for name in list_strategies():
    run_backtest(data, create_strategy(name))
    print(name)
"""


def test_every_builtin_strategy_runs_with_pandas4_warnings_as_errors(tmp_path) -> None:
    from engine.strategies.registry import list_strategies

    env = {"IVYBT_HOME": str(tmp_path), "IVYBT_JIT": "interpreted", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == list(list_strategies())


def test_pandas_is_pinned_to_a_range_that_holds_the_installed_version() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pandas,) = [Requirement(d) for d in deps if Requirement(d).name == "pandas"]
    assert any(s.operator in ("<", "<=", "~=", "==") for s in pandas.specifier), f"pandas has no upper bound: {pandas}"
    assert pandas.specifier.contains(version("pandas")), (str(pandas.specifier), version("pandas"))

"""`ivybt audit` and `ivybt backtest` on user strategy files: a leaky strategy fails the audit, a broken one is
one line naming its file and line, an error raised on purpose passes through."""

from __future__ import annotations

import json

import pytest

from tests.engine.cli_helpers import cli, cli_json

LEAKY = """
from dataclasses import dataclass
from engine.strategies.base import Strategy

class Leaky(Strategy):
    name = "leaky_tomorrow"
    description = "peeks at tomorrow's close"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        return (data.close.shift(-1) > data.close).astype(float)
"""


def test_audit_passes_builtin_and_fails_leaky_user_strategy(home):
    ok = cli_json("audit", "sma_cross", "--symbols", "SPY", "QQQ", "--checks", "8", home=home)
    assert ok["passed"] is True and ok["first_mismatch"] is None and ok["symbols"] == ["SPY", "QQQ"]
    (home / "strategies").mkdir(parents=True, exist_ok=True)
    (home / "strategies" / "leaky.py").write_text(LEAKY)
    bad = cli("audit", "leaky_tomorrow", "--symbols", "SPY", "--checks", "8", "--json", home=home)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["passed"] is False and report["symbol"] == "SPY" and report["first_mismatch"] is not None
    assert cli("audit", "no_such", home=home).returncode == 2


BROKEN = """
from dataclasses import dataclass
import pandas as pd
from engine.errors import StrategyError
from engine.strategies.base import Strategy

class BadWeights(Strategy):
    name = "bad_weights"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        return data.close["NO_SUCH_COLUMN"]  # line 15: KeyError at run time

class BadStops(Strategy):
    name = "bad_stops"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        return data.close.notna().astype(float)

    def stop_fractions(self, data):
        return {"stop_loss": 1 / 0}  # line 28: ZeroDivisionError at run time

class Refuses(Strategy):
    name = "refuses"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data):
        raise StrategyError("refuses: needs at least two symbols")
"""


@pytest.mark.parametrize("command", ["backtest", "audit"])
@pytest.mark.parametrize(
    "strategy, line, original",
    [
        ("bad_weights", 15, "failed in target_weights: KeyError: 'NO_SUCH_COLUMN'"),
        ("bad_stops", 28, "failed in stop_fractions: ZeroDivisionError: division by zero"),
    ],
)
def test_user_strategy_raising_at_run_time_is_one_line_naming_file_and_line(home, command, strategy, line, original):
    (home / "strategies").mkdir(parents=True, exist_ok=True)
    path = home / "strategies" / "broken.py"
    path.write_text(BROKEN)
    args = ["backtest", "--strategy", strategy] if command == "backtest" else ["audit", strategy, "--checks", "3"]
    proc = cli(*args, "--symbols", "SPY", home=home)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"ivybt: error: strategy {strategy!r} ({path.resolve()}, line {line}) {original}"
    ]


@pytest.mark.parametrize("command", ["backtest", "audit"])
def test_user_strategy_error_raised_on_purpose_passes_through(home, command):
    (home / "strategies").mkdir(parents=True, exist_ok=True)
    (home / "strategies" / "broken.py").write_text(BROKEN)
    args = ["backtest", "--strategy", "refuses"] if command == "backtest" else ["audit", "refuses"]
    proc = cli(*args, "--symbols", "SPY", home=home)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr == "ivybt: error: refuses: needs at least two symbols\n"

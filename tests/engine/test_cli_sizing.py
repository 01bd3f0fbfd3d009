"""`ivybt backtest --sizing ...` (issue 18 item 1 from the command line): the flags set config.sizing, so the JSON
metrics are those of run_request with that Sizing; a value outside its bound is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import BacktestConfig, Sizing
from engine.request import BacktestRequest, run_request

IVYBT = Path(sys.executable).parent / "ivybt"
BASE = ["backtest", "--strategy", "sma_cross", "--symbols", "SPY,QQQ", "--start", "2010-01-01", "--end", "2019-12-31"]


def cli(*more: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(IVYBT), *BASE, *more], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("flags", "sizing"),
    [
        (["--sizing", "vol_target", "--target-vol", "0.08", "--sizing-lookback", "42"], Sizing("vol_target", 0.08, 42)),
        (["--sizing", "atr", "--risk-per-trade", "0.02", "--atr-multiple", "3"], Sizing("atr", risk_per_trade=0.02, atr_multiple=3.0)),
        (["--sizing", "kelly", "--kelly-fraction", "0.25"], Sizing("kelly", kelly_fraction=0.25)),
    ],
)  # fmt: skip
def test_the_flags_size_as_the_engine_does(home, flags: list[str], sizing: Sizing) -> None:
    out = cli(*flags, "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["request"]["config"]["sizing"] == BacktestConfig(sizing=sizing).to_dict()["sizing"]
    expected = run_request(
        BacktestRequest(
            strategy="sma_cross",
            symbols=("SPY", "QQQ"),
            start="2010-01-01",
            end="2019-12-31",
            config=BacktestConfig(sizing=sizing),
        )
    )
    assert got["metrics"]["final_equity"] == pytest.approx(expected.metrics["final_equity"], rel=1e-12)
    plain = json.loads(cli("--json").stdout)["metrics"]["final_equity"]
    assert plain != pytest.approx(got["metrics"]["final_equity"], rel=1e-6)  # the overlay changed the run


def test_a_value_out_of_bounds_is_one_line(home) -> None:
    out = cli("--sizing", "vol_target", "--target-vol", "9")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "target_vol" in out.stderr and "9" in out.stderr

"""Run the `ivybt` console script as a subprocess in a private workspace (shared by the CLI test files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.data import SAMPLE_DIR

IVYBT = Path(sys.executable).parent / "ivybt"
DAILY = SAMPLE_DIR  # the bundled copy of the real daily CSVs
EXACT = [
    "backtest",
    "--strategy",
    "sma_cross",
    "--symbols",
    "SPY",
    "--param",
    "fast=10",
    "--param",
    "slow=50",
    "--commission-bps",
    "10",
    "--slippage-bps",
    "0",
    "--fill",
    "next_open",
    "--cash",
    "100000",
]


def cli(*args: str, home: Path, stdin: str = "", presets: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "IVYBT_HOME": str(home)}
    env.pop("IVYBT_PRESETS", None)
    if presets is not None:
        env["IVYBT_PRESETS"] = str(presets)
    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


def cli_json(*args: str, home: Path, **kw) -> dict:
    proc = cli(*args, "--json", home=home, **kw)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1  # exactly one JSON object
    return json.loads(lines[0])

"""One validation path: every configuration rejects unknown fields, wrong types and out-of-bounds values with
a one-line ConfigError naming the field and the value; the CLI turns it into one line on stderr and exit 2."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from engine.batch.config import BatchConfigError, parse_batch
from engine.config import BacktestConfig, Costs, Risk
from engine.errors import ConfigError
from engine.ops.risk import RiskLimits
from engine.request import BacktestRequest
from engine.research.montecarlo import MonteCarloSpec
from engine.research.optimize import OptimizeSpec
from engine.research.walkforward import WalkForwardSpec
from engine.store.presets import Preset

ENGINE = Path(__file__).resolve().parents[2] / "engine"
IVYBT = Path(sys.executable).parent / "ivybt"
OPT = {"strategy": "sma_cross", "symbols": ["SPY"]}
PRESET = {"schema_version": 1, "strategy": "sma_cross", "params": {}, "symbols": ["SPY"]}

BAD = [
    # backtest config, costs, risk: out of bounds, wrong type, unknown field
    (lambda: Costs(commission_bps=-5.0), "costs.commission_bps: -5.0 must be >= 0"),
    (lambda: Costs(slippage_bps=1001.0), "costs.slippage_bps: 1001.0 must be <= 1000"),
    (lambda: Risk(max_leverage=0.0), "risk.max_leverage: 0.0 must be > 0"),
    (lambda: Risk(stop_loss=1.5), "risk.stop_loss: 1.5 must be <= 1"),
    (lambda: BacktestConfig(fill="tomorrow"), "config.fill: 'tomorrow' is not one of"),
    (lambda: BacktestConfig(rebalance="hourly"), "config.rebalance: 'hourly' is not one of"),
    (lambda: BacktestConfig(fractional=1), "config: field 'fractional' must be true or false, got 1"),  # type: ignore[arg-type]
    (lambda: replace(BacktestConfig(), cash_rate=2.0), "config.cash_rate: 2.0 must be <= 1"),
    (
        lambda: BacktestConfig.from_dict({"initial_cash": "lots"}),
        "config: field 'initial_cash' must be a number, got 'lots'",
    ),
    (lambda: BacktestConfig.from_dict({"colour": "red"}), "config: unknown field(s) ['colour']"),
    (lambda: BacktestConfig.from_dict({"costs": {"fee": 1}}), "config: field 'costs': unknown key(s) ['fee']"),
    (lambda: BacktestConfig.from_dict({"risk": {"max_position": -1}}), "config.risk.max_position: -1 must be > 0"),
    # request
    (lambda: BacktestRequest.from_dict({**OPT, "colour": "red"}), "request: unknown field(s) ['colour']"),
    (lambda: BacktestRequest.from_dict({"symbols": ["SPY"]}), "request: missing field(s) ['strategy']"),
    (
        lambda: BacktestRequest.from_dict({**OPT, "params": [10, 50]}),
        "request: field 'params' must be a mapping, got [10, 50]",
    ),
    (lambda: BacktestRequest.from_dict({**OPT, "config": {"fill": "x"}}), "request.config.fill: 'x' is not one of"),
    # optimize
    (lambda: OptimizeSpec.from_dict({**OPT, "n_trial": 5}), "optimize: unknown field(s) ['n_trial']"),
    (lambda: OptimizeSpec(**OPT, n_trials=0), "optimize.n_trials: n_trials must be >= 1, got 0"),
    (lambda: OptimizeSpec(**OPT, min_trades=-1), "optimize.min_trades: -1 must be >= 0"),
    (lambda: OptimizeSpec(**OPT, seed="1"), "optimize: field 'seed' must be an integer, got '1'"),
    (lambda: OptimizeSpec(**OPT, method="anneal"), "optimize.method: method 'anneal' is not one of"),
    # walk-forward
    (
        lambda: WalkForwardSpec(OptimizeSpec(**OPT), "3Y", "1Q"),
        "walk-forward: out_of_sample: bad window length: out-of-sample: '1Q'",
    ),
    (
        lambda: WalkForwardSpec(OptimizeSpec(**OPT), "3Y", "1Y", "yes"),
        "walk-forward: field 'anchored' must be true or false, got 'yes'",
    ),
    (
        lambda: WalkForwardSpec.from_dict({"optimize": OPT, "in_sample": 3, "out_of_sample": 1, "step": 5}),
        "walk-forward: unknown field(s) ['step']",
    ),
    (
        lambda: WalkForwardSpec.from_dict({"optimize": {**OPT, "n_trials": 0}, "in_sample": 3, "out_of_sample": 1}),
        "walk-forward: optimize.n_trials: n_trials must be >= 1, got 0",
    ),
    # Monte Carlo
    (lambda: MonteCarloSpec(n_sims=0), "montecarlo.n_sims: 0 must be >= 1"),
    (lambda: MonteCarloSpec(block_length=2.5), "montecarlo: field 'block_length' must be an integer, got 2.5"),  # type: ignore[arg-type]
    (lambda: MonteCarloSpec(method="shuffle"), "montecarlo.method: 'shuffle' is not one of"),
    (lambda: MonteCarloSpec(extra_slippage_bps=2000.0), "montecarlo.extra_slippage_bps: 2000.0 must be <= 1000"),
    (lambda: MonteCarloSpec.from_dict({"sims": 10}), "montecarlo: unknown field(s) ['sims']"),
    # risk limits
    (lambda: RiskLimits(per_trade_risk=-1.0), "risk limits: per_trade_risk: -1.0 must be > 0"),
    (lambda: RiskLimits(max_weight=float("inf")), "risk limits: max_weight: inf is not a finite number"),
    (
        lambda: RiskLimits(allow_stale_data="no"),
        "risk limits: field 'allow_stale_data' must be true or false, got 'no'",
    ),  # type: ignore[arg-type]
    (lambda: RiskLimits.from_dict({"max_weigth": 0.2}), "risk limits: unknown field(s) ['max_weigth']"),
    # presets
    (lambda: Preset.from_dict({**PRESET, "oops": 1}, name="p"), "preset 'p': unknown field(s) ['oops']"),
    (
        lambda: Preset.from_dict({**PRESET, "costs": {"commission_bps": -1}}, name="p"),
        "preset 'p': costs.commission_bps: -1 must be >= 0",
    ),
    (
        lambda: Preset.from_dict({**PRESET, "risk": {"stop_loss": "5%"}}, name="p"),
        "preset 'p': field 'risk.stop_loss' must be a number, got '5%'",
    ),
    (
        lambda: Preset.from_dict({**PRESET, "config": {"colour": 1}}, name="p"),
        "preset 'p': field 'config': unknown key(s) ['colour']",
    ),
    (
        lambda: Preset.from_dict({**PRESET, "symbols": "SPY"}, name="p"),
        "preset 'p': field 'symbols' must be a list, got 'SPY'",
    ),
]


@pytest.mark.parametrize("build, message", BAD, ids=[m for _, m in BAD])
def test_bad_configuration_is_one_line_naming_field_and_value(build, message):
    with pytest.raises(ConfigError) as e:
        build()
    text = str(e.value)
    assert "\n" not in text
    assert message in text


def test_several_problems_stay_on_one_line():
    with pytest.raises(ConfigError) as e:
        BacktestConfig.from_dict({"colour": "red", "fill": "x", "costs": {"commission_bps": -1}})
    text = str(e.value)
    assert "\n" not in text
    for part in ("unknown field(s) ['colour']", "config.fill: 'x'", "config.costs.commission_bps: -1 must be >= 0"):
        assert part in text


def test_batch_reuses_the_engine_bounds():
    text = "jobs:\n  - strategy: sma_cross\n    symbols: [SPY]\n    config: {costs: {commission_bps: -5}}\n"
    with pytest.raises(BatchConfigError) as e:
        parse_batch(text, "b.yaml", check_symbols=False)
    (issue,) = e.value.issues
    assert (issue.line, issue.field) == (4, "jobs[0].config.costs.commission_bps")
    assert "-5" in issue.message and "greater than or equal to 0" in issue.message
    text = "jobs:\n  - strategy: sma_cross\n    symbols: [SPY]\n    montecarlo: {n_sims: 0}\n"
    with pytest.raises(BatchConfigError) as e:
        parse_batch(text, "b.yaml", check_symbols=False)
    assert [i.field for i in e.value.issues] == ["jobs[0].montecarlo.n_sims"]


def _cli(*args: str, home: Path, presets: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "IVYBT_HOME": str(home)}
    env.pop("IVYBT_PRESETS", None)
    if presets is not None:
        env["IVYBT_PRESETS"] = str(presets)
    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_bad_configuration_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("strategy: sma_cross\nsymbols: [SPY]\nconfig: {fill: tomorrow}\n")
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "bad.json").write_text(json.dumps({**PRESET, "risk": {"stop_loss": 1.5}}))
    cases = [
        (
            (["--strategy", "sma_cross", "--symbols", "SPY", "--commission-bps", "-5"]),
            None,
            "commission_bps: -5.0 must be >= 0",
        ),
        ((["--config", str(tmp_path / "bad.yaml")]), None, "fill: 'tomorrow' is not one of"),
        ((["--preset", "bad"]), presets, "preset 'bad': risk.stop_loss: 1.5 must be <= 1"),
    ]
    for args, folder, message in cases:
        proc = _cli("backtest", *args, home=tmp_path / "home", presets=folder)
        assert proc.returncode == 2, proc.stdout
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ivybt: error: "), proc.stderr
        assert message in lines[0]


VALIDATION_TEXT = ("unknown field", "unknown key", "missing field")
ALLOWED = {
    "validation.py": "the one converter of pydantic errors",
    "batch/config.py": "words pydantic's extra-field error for a YAML line",
    "data/market.py": "a market data column (open, high, ...), not a configuration field",
}


def _raised_validation_texts(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string inside a `raise` of `source` that words an unknown or missing field."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise):
            for part in ast.walk(node):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    if any(t in part.value for t in VALIDATION_TEXT):
                        found.append((part.lineno, part.value))
    return found


def test_no_module_reimplements_the_unknown_field_check():
    """No `raise` outside the converter words an unknown or missing configuration field itself."""
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        rel = path.relative_to(ENGINE).as_posix()
        if rel not in ALLOWED:
            offenders += [f"{rel}:{line}: {text!r}" for line, text in _raised_validation_texts(path.read_text("utf-8"))]
    assert offenders == []


def test_the_source_check_finds_a_hand_written_unknown_field_check():
    source = 'def f(v):\n    raise ConfigError(f"x: unknown field(s) {v}")\n'
    assert _raised_validation_texts(source) == [(2, "x: unknown field(s) ")]

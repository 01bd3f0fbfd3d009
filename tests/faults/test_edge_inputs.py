"""Edge inputs (issue 15 item 7): parameters out of bounds, a bad --limit, escape sequences in a run name and a
15-year hole in a symbol's data, through the real `ivybt` console script, the engine and the app."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.faults.db_helpers import BACKTEST, one_error_line, run_ivybt
from tests.pages.page_helpers import page

SMA = ["backtest", "--strategy", "sma_cross", "--symbols", "SPY", "--param", "fast=10"]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e12", "abc", "-5", "10.5"])
def test_edge_param_slow_out_of_bounds_one_line_with_limits(tmp_path: Path, value: str) -> None:
    proc = run_ivybt(*SMA, "--param", f"slow={value}", home=tmp_path / "ws")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    line = one_error_line(proc)
    assert f"parameter 'slow': '{value}'" in line
    assert "[0, 5000]" in line  # sma_cross slow is optimized over 10..500: by hand up to 10x that
    assert proc.stdout == ""


def test_edge_param_float_weight_inf_one_line(tmp_path: Path) -> None:
    proc = run_ivybt(*SMA, "--param", "weight=inf", home=tmp_path / "ws")
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "parameter 'weight': 'inf'" in line and "finite number in [0, 10]" in line


def test_edge_param_outside_optimization_range_within_limits_runs(tmp_path: Path) -> None:
    proc = run_ivybt(*SMA, "--param", "slow=600", "--json", home=tmp_path / "ws")  # past the searched 500
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["request"]["params"]["slow"] == 600


@pytest.mark.parametrize("limit", ["0", "-1", "many"])
def test_edge_runs_list_limit_out_of_range_one_line(tmp_path: Path, limit: str) -> None:
    proc = run_ivybt("runs", "list", "--limit", limit, home=tmp_path / "ws")
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "--limit" in line and "[1, 1000000]" in line
    assert "no saved runs" not in proc.stdout


def test_edge_run_name_with_ansi_escape_printed_escaped(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    name = "\x1b[31mred\x07"
    saved = run_ivybt(*BACKTEST, "--save", "--name", name, "--json", home=home)
    assert saved.returncode == 0, saved.stderr
    run_id = json.loads(saved.stdout)["run_id"]
    shown = run_ivybt("runs", "show", run_id, home=home)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b[31mred\\x07" in shown.stdout  # visible, as an escape
    listed = run_ivybt("runs", "list", "--json", home=home)
    assert json.loads(listed.stdout)["runs"][0]["name"] == name  # stored as given; JSON escapes it itself
    missing = run_ivybt("runs", "show", "\x1b[2Jgone", home=home)
    assert missing.returncode == 2 and "\x1b" not in missing.stderr and "\\x1b[2Jgone" in missing.stderr


@pytest.fixture
def holey(tmp_path: Path) -> Path:
    """A data folder whose SPY.csv is the bundled SPY without 2000-01-01 .. 2014-12-31 (a 15-year hole)."""
    folder = tmp_path / "holey"
    folder.mkdir()
    bars = pd.read_csv(SAMPLE_DIR / "SPY.csv")
    dates = pd.to_datetime(bars.iloc[:, 0])
    bars[(dates < "2000-01-01") | (dates > "2014-12-31")].to_csv(folder / "SPY.csv", index=False)
    return folder


GAP = "SPY has no bars for 3914 trading days (15.0 years) between 1999-12-31 and 2015-01-02"


def test_edge_data_gap_15_years_warned_on_cli_and_in_saved_run(tmp_path: Path, holey: Path) -> None:
    home = tmp_path / "ws"
    proc = run_ivybt(*BACKTEST, "--data-dir", str(holey), "--save", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if line.startswith("ivybt: warning: ")]
    assert len(warned) == 1 and GAP in warned[0]
    out = json.loads(proc.stdout)
    assert len(out["warnings"]) == 1 and GAP in out["warnings"][0]
    shown = run_ivybt("runs", "show", out["run_id"], home=home)
    assert GAP in shown.stdout
    whole = run_ivybt(*BACKTEST, "--json", home=home)  # the bundled SPY has no such hole
    assert "warnings" not in json.loads(whole.stdout) and "warning" not in whole.stderr


def test_edge_data_gap_in_result_and_run_store(home: Path, holey: Path) -> None:
    request = BacktestRequest(strategy="sma_cross", symbols=["SPY"], data_source=str(holey))
    result = run_request(request)
    assert len(result.warnings) == 1 and GAP in result.warnings[0]
    store = RunStore()
    assert store.load(store.save(result, request)).result.warnings == result.warnings
    assert run_request(BacktestRequest(strategy="sma_cross", symbols=["SPY"])).warnings == []


def test_edge_data_gap_shown_on_backtest_page(workspace: Path, holey: Path) -> None:
    proc = run_ivybt(*BACKTEST, "--data-dir", str(holey), "--save", "--json", home=workspace)
    assert proc.returncode == 0, proc.stderr
    at = page("backtest")
    at.query_params["run"] = json.loads(proc.stdout)["run_id"]  # a stored run opens by its id (issue 16 item 2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(GAP in str(w.value) for w in at.warning), [w.value for w in at.warning]

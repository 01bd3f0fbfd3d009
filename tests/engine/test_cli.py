"""The `ivybt` console script, run as a subprocess (IVYBT_HOME = tmp_path), checked against independent numbers."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.request import BacktestRequest, run_request
from tests.engine.cli_helpers import DAILY, EXACT, IVYBT, cli, cli_json


def w2_reference(
    csv: Path,
    fast: int,
    slow: int,
    fee: float,
    start: str | None = None,
    end: str | None = None,
    cash0: float = 100_000.0,
) -> dict:
    """WORKLOADS.md common rules 1-7 as a plain loop over one CSV (the independent computation)."""
    df = pd.read_csv(csv, parse_dates=["date"])
    if start:
        df = df[df["date"] >= start]
    if end:
        df = df[df["date"] <= end]
    o, c = df["open"].to_numpy(float), df["close"].to_numpy(float)
    n = len(c)
    sma = lambda w: [sum(c[t - w + 1 : t + 1]) / w if t >= w - 1 else None for t in range(n)]  # noqa: E731
    f, s = sma(fast), sma(slow)
    signal, last = [0] * n, 0
    for t in range(n):
        state = 0
        if f[t] is not None and s[t] is not None and abs(f[t] - s[t]) > 1e-9 * abs(s[t]):
            state = 1 if f[t] > s[t] else -1
        if state == 1 and last == -1:
            signal[t] = 1
        elif state == -1 and last == 1:
            signal[t] = -1
        if state:
            last = state
    cash, q, trades, equity = cash0, 0.0, 0, []
    for t in range(n):
        if t > 0 and signal[t - 1] == 1 and q == 0:
            q = cash / (o[t] * (1 + fee))
            cash, trades = 0.0, trades + 1
        elif t > 0 and signal[t - 1] == -1 and q > 0:
            cash, q = q * o[t] * (1 - fee), 0.0
        equity.append(cash + q * c[t])
    prev = [cash0] + equity[:-1]
    r = [e / p - 1 for e, p in zip(equity, prev)]
    mean = sum(r) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (n - 1))
    peak, mdd = -math.inf, 0.0
    for e in equity:
        peak = max(peak, e)
        mdd = min(mdd, e / peak - 1)
    return {
        "final_equity": equity[-1],
        "total_return": equity[-1] / cash0 - 1,
        "n_trades": trades,
        "max_drawdown": mdd,
        "sharpe": mean / sd * math.sqrt(252),
        "first": df["date"].iloc[0],
        "last": df["date"].iloc[-1],
    }


def test_exact_form_full_history_matches_w2_reference(home):
    out = cli_json(*EXACT, home=home)
    m = out["metrics"]
    # WORKLOADS.md W2: 682,329.15, 582.3292 %, 104 trades, max DD -29.4939 %, Sharpe 0.5555
    assert m["final_equity"] == pytest.approx(682_329.15, abs=0.01)
    assert abs(m["total_return"] * 100 - 582.3292) < 0.01
    assert m["n_trades"] == 104
    assert abs(m["max_drawdown"] * 100 - -29.4939) < 0.01
    assert m["sharpe"] == pytest.approx(0.5555, abs=5e-5)
    ref = w2_reference(DAILY / "SPY.csv", 10, 50, 0.001)
    for k in ("final_equity", "total_return", "max_drawdown", "sharpe"):
        assert m[k] == pytest.approx(ref[k], rel=1e-9), k
    assert m["n_trades"] == ref["n_trades"]
    assert out["request"]["params"] == {"fast": 10, "slow": 50}
    assert out["request"]["config"]["costs"]["commission_bps"] == 10.0
    assert "run_id" not in out


def test_exact_form_with_dates_and_data_dir_matches_run_request_and_loop(home, tmp_path):
    folder = tmp_path / "csvs"
    folder.mkdir()
    for sym in ("SPY", "QQQ"):
        shutil.copy(DAILY / f"{sym}.csv", folder / f"{sym}.csv")
    dated = [*EXACT, "--start", "2010-01-01", "--end", "2020-12-31"]
    bundled = cli_json(*dated, home=home)
    from_dir = cli_json(*dated, "--data-dir", str(folder), home=home)
    assert from_dir["metrics"] == bundled["metrics"]
    assert from_dir["request"]["data_source"] == str(folder.resolve())

    req = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2010-01-01",
        end="2020-12-31",
        config=BacktestConfig(initial_cash=100_000.0, costs=Costs(commission_bps=10.0)),
    )
    in_process = run_request(req).metrics
    for k, v in in_process.items():
        got = bundled["metrics"][k]
        assert (got is None and not math.isfinite(v)) or got == pytest.approx(v, rel=1e-12, abs=1e-12), k

    ref = w2_reference(DAILY / "SPY.csv", 10, 50, 0.001, "2010-01-01", "2020-12-31")
    for k in ("final_equity", "total_return", "max_drawdown", "sharpe"):
        assert bundled["metrics"][k] == pytest.approx(ref[k], rel=1e-9), k
    assert bundled["metrics"]["n_trades"] == ref["n_trades"]


def test_text_output_is_a_metrics_table(home):
    proc = cli(*EXACT, "--start", "2010-01-01", "--end", "2020-12-31", home=home)
    assert proc.returncode == 0, proc.stderr
    ref = w2_reference(DAILY / "SPY.csv", 10, 50, 0.001, "2010-01-01", "2020-12-31")
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[3:] if line.strip()}
    assert rows["final_equity"][0] == f"{ref['final_equity']:,.2f}"
    assert rows["n_trades"][0] == str(ref["n_trades"])
    assert rows["max_drawdown"][0] == f"{ref['max_drawdown'] * 100:,.2f}%"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--strategy", "no_such"], "unknown strategy 'no_such'"),
        (["--strategy", "sma_cross", "--symbols", "NOPE"], "unknown symbol 'NOPE'"),
        (["--strategy", "sma_cross", "--param", "fast"], "--param 'fast': expected NAME=VALUE"),
        (["--strategy", "sma_cross", "--param", "fast=ten"], "parameter 'fast': 'ten' is not a valid int"),
        (["--strategy", "sma_cross", "--param", "speed=1"], "unknown parameter(s) ['speed']"),
        (
            ["--strategy", "sma_cross", "--start", "2020-01-01", "--end", "2010-01-01"],
            "start 2020-01-01 is after end 2010-01-01",
        ),
        (
            ["--strategy", "sma_cross", "--param", "fast=50", "--param", "slow=50"],
            "fast (50) must be shorter than slow (50)",
        ),
        (["--preset", "does_not_exist"], "preset 'does_not_exist' not found"),
        (["--strategy", "sma_cross", "--fill", "tomorrow"], "argument --fill: invalid choice: 'tomorrow'"),
        (["--strategy", "sma_cross", "--cash", "-1"], "config.initial_cash: -1.0 must be > 0"),
        (["--strategy", "sma_cross", "--data-dir", "/no/such/folder"], "--data-dir '/no/such/folder': no such folder"),
        (["--strategy", "sma_cross", "--start", "2099-01-01"], "no bars"),
        (["--symbols", "SPY"], "give --strategy NAME"),
        (["--config", "/no/such.yaml"], "config file '/no/such.yaml' not found"),
    ],
)
def test_bad_backtest_input_exits_2_with_one_line(home, args, fragment):
    full = ["backtest", *args] + (
        [] if "--symbols" in args or "--preset" in args or "--config" in args else ["--symbols", "SPY"]
    )
    proc = cli(*full, home=home)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivybt: error: ")
    assert fragment in lines[0]


def test_malformed_config_yaml_names_line(home, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: sma_cross\nsymbols: [SPY, QQQ\nparams:\n  fast: 10\n")
    proc = cli("backtest", "--config", str(bad), home=home)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line and line.startswith(f"ivybt: error: config file {bad}: malformed YAML at line 3")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    proc = cli("backtest", "--config", str(scalar), home=home)
    assert proc.returncode == 2 and "expected a mapping" in proc.stderr


def test_config_yaml_and_flag_overrides(home, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "strategy: sma_cross\nsymbols: [SPY]\nparams: {fast: 10, slow: 50}\nstart: 2010-01-01\n"
        "end: 2020-12-31\nconfig:\n  initial_cash: 100000\n  costs: {commission_bps: 0}\n"
    )
    out = cli_json("backtest", "--config", str(cfg), "--commission-bps", "10", home=home)
    ref = w2_reference(DAILY / "SPY.csv", 10, 50, 0.001, "2010-01-01", "2020-12-31")
    assert out["metrics"]["final_equity"] == pytest.approx(ref["final_equity"], rel=1e-9)
    assert out["request"]["start"] == "2010-01-01" and out["request"]["config"]["costs"]["commission_bps"] == 10
    no_fee = cli_json("backtest", "--config", str(cfg), "--param", "slow=60", home=home)
    ref0 = w2_reference(DAILY / "SPY.csv", 10, 60, 0.0, "2010-01-01", "2020-12-31")
    assert no_fee["metrics"]["final_equity"] == pytest.approx(ref0["final_equity"], rel=1e-9)
    assert no_fee["request"]["params"] == {"fast": 10, "slow": 60}


def test_config_yaml_accepts_top_level_costs_and_risk_like_a_preset(home, tmp_path):
    cfg = tmp_path / "preset_like.yaml"
    cfg.write_text(
        "strategy: sma_cross\nsymbols: [SPY]\nparams: {fast: 10, slow: 50}\nstart: 2010-01-01\n"
        "end: 2020-12-31\ncosts: {commission_bps: 10}\nrisk: {max_leverage: 1.0}\n"
        "config: {initial_cash: 100000}\n"
    )
    out = cli_json("backtest", "--config", str(cfg), home=home)
    ref = w2_reference(DAILY / "SPY.csv", 10, 50, 0.001, "2010-01-01", "2020-12-31")
    assert out["metrics"]["final_equity"] == pytest.approx(ref["final_equity"], rel=1e-9)
    assert out["metrics"]["n_trades"] == ref["n_trades"]
    assert out["request"]["config"]["costs"]["commission_bps"] == 10
    assert out["request"]["config"]["risk"]["max_leverage"] == 1.0
    clash = tmp_path / "clash.yaml"
    clash.write_text(
        "strategy: sma_cross\nsymbols: [SPY]\ncosts: {commission_bps: 10}\nconfig: {costs: {commission_bps: 5}}\n"
    )
    proc = cli("backtest", "--config", str(clash), home=home)
    assert proc.returncode == 2 and proc.stderr == (
        f"ivybt: error: config file {clash}: costs.commission_bps is given twice, 10 at the top level and 5 under "
        f"config; keep one\n"
    )
    bad = tmp_path / "bad_risk.yaml"
    bad.write_text("strategy: sma_cross\nsymbols: [SPY]\nrisk: 2\n")
    proc = cli("backtest", "--config", str(bad), home=home)
    assert proc.returncode == 2 and "risk: expected a mapping of field: value, got 2" in proc.stderr


def test_same_close_json_is_labelled_optimistic(home):
    args = ["backtest", "--strategy", "sma_cross", "--symbols", "SPY", "--start", "2010-01-01", "--end", "2020-12-31"]
    same = cli_json(*args, "--fill", "same_close", home=home)
    assert (
        same["fill_note"] == "optimistic: same-close fill, for comparison only (the upper end of a "
        "fill-sensitivity check)"
    )
    assert same["request"]["config"]["fill"] == "same_close"
    normal = cli_json(*args, "--fill", "next_open", home=home)
    assert "fill_note" not in normal
    assert same["metrics"]["final_equity"] != normal["metrics"]["final_equity"]
    text = cli(*args, "--fill", "same_close", home=home)
    assert text.returncode == 0 and "note: fill=same_close is optimistic: same-close fill" in text.stdout


def test_preset_run_with_overrides(home):
    out = cli_json("backtest", "--preset", "spy_trend", "--symbols", "QQQ", "--start", "2015-01-01", home=home)
    assert out["request"]["strategy"] == "ema_trend" and out["request"]["symbols"] == ["QQQ"]
    assert out["request"]["start"] == "2015-01-01"
    assert out["request"]["config"]["costs"]["commission_bps"] == 5  # kept from the preset
    assert out["metrics"]["n_trades"] > 0


def test_save_then_runs_list_show_delete(home):
    saved = cli_json(*EXACT, "--start", "2010-01-01", "--end", "2020-12-31", "--save", "--name", "w2", home=home)
    run_id = saved["run_id"]
    listed = cli_json("runs", "list", home=home)["runs"]
    assert [r["id"] for r in listed] == [run_id]
    assert listed[0]["strategy"] == "sma_cross" and listed[0]["symbols"] == "SPY"
    assert listed[0]["total_return"] == saved["metrics"]["total_return"]
    assert listed[0]["start"].startswith("2010-01-04") and listed[0]["end"].startswith("2020-12-31")
    assert cli_json("runs", "list", "--strategy", "ema_cross", home=home)["runs"] == []
    assert len(cli_json("runs", "list", "--symbol", "spy", home=home)["runs"]) == 1
    shown = cli_json("runs", "show", run_id[:6], home=home)
    assert shown["id"] == run_id and shown["metrics"] == saved["metrics"] and shown["key"] == saved["key"]
    assert shown["request"] == saved["request"] and shown["name"] == "w2"
    text = cli("runs", "show", run_id, home=home)
    assert text.returncode == 0 and saved["key"] in text.stdout

    refused = cli("runs", "delete", run_id, home=home, stdin="n\n")
    assert refused.returncode == 1 and "not deleted" in refused.stderr
    assert cli("runs", "delete", run_id, "--yes", home=home).returncode == 0
    gone = cli("runs", "show", run_id, home=home)
    assert gone.returncode == 2 and gone.stderr.strip() == (
        f"ivybt: error: no saved run with id '{run_id}' in {home / 'ivybt.db'} (see `ivybt runs list`)"
    )


def test_strategies_json(home):
    out = cli_json("strategies", home=home)
    sma = out["strategies"]["sma_cross"]
    specs = {p["name"]: p for p in sma["params"]}
    assert specs["fast"]["default"] == 10 and specs["slow"]["default"] == 50 and specs["fast"]["type"] == "int"
    assert specs["fast"]["low"] is not None and specs["fast"]["high"] is not None
    assert {"buy_and_hold", "sma_cross", "momentum_rotation", "donchian_breakout", "ema_trend"} <= set(
        out["strategies"]
    )


def test_data_list_and_show_match_the_csvs(home):
    listed = {r["symbol"]: r for r in cli_json("data", "list", home=home)["symbols"]}
    assert set(listed) == {p.stem for p in DAILY.glob("*.csv")} | {p.stem for p in (DAILY / "intraday").glob("*.csv")}
    spy = pd.read_csv(DAILY / "SPY.csv", parse_dates=["date"])
    assert listed["SPY"]["bars"] == len(spy) and listed["SPY"]["source"] == "bundled"
    assert pd.Timestamp(listed["SPY"]["first"]) == spy["date"].iloc[0]
    assert pd.Timestamp(listed["SPY"]["last"]) == spy["date"].iloc[-1]
    shown = cli_json("data", "show", "spy", "--rows", "3", home=home)
    assert shown["bars"] == len(spy)
    gaps = int((spy["date"].diff().dt.days > 5).sum())
    assert shown["gaps"] == gaps
    assert [r["close"] for r in shown["last_rows"]] == pytest.approx(spy["close"].iloc[-3:].tolist(), rel=1e-12)


def test_data_import_keeps_good_files_and_reports_bad(home, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    shutil.copy(DAILY / "TLT.csv", folder / "MYTLT.csv")
    pd.read_csv(DAILY / "GLD.csv").drop(columns=["close"]).to_csv(folder / "BROKEN.csv", index=False)
    proc = cli("data", "import", str(folder), home=home)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "imported MYTLT" in proc.stdout and "failed" in proc.stdout and "BROKEN.csv" in proc.stdout
    listed = {r["symbol"]: r for r in cli_json("data", "list", home=home)["symbols"]}
    assert listed["MYTLT"]["source"] == "workspace" and "BROKEN" not in listed
    # the imported symbol is usable everywhere: a buy-and-hold on it ends at close[-1] / open[1] of the file
    out = cli_json("backtest", "--strategy", "buy_and_hold", "--symbols", "MYTLT", home=home)
    tlt = pd.read_csv(DAILY / "TLT.csv")
    expected = 100_000 / tlt["open"].iloc[1] * tlt["close"].iloc[-1]
    assert out["metrics"]["final_equity"] == pytest.approx(expected, rel=1e-9)
    assert cli("data", "import", str(folder / "MYTLT.csv"), home=home).returncode == 0


def test_presets_list_and_show(home):
    listed = {p["name"]: p for p in cli_json("presets", "list", home=home)["presets"]}
    assert {"spy_trend", "sector_rotation", "multi_asset_breakout"} <= set(listed)
    assert listed["sector_rotation"]["strategy"] == "momentum_rotation" and listed["spy_trend"]["error"] is None
    shown = cli_json("presets", "show", "multi_asset_breakout", home=home)
    on_disk = json.loads((Path(__file__).resolve().parents[2] / "presets" / "multi_asset_breakout.json").read_text())
    assert shown == on_disk
    missing = cli("presets", "show", "nope", home=home)
    assert missing.returncode == 2 and missing.stderr.startswith("ivybt: error: preset 'nope' not found")


def test_save_preset_from_flags(home, tmp_path):
    presets = tmp_path / "my_presets"
    out = cli_json(*EXACT, "--start", "2010-01-01", "--save-preset", "w2_2010s", home=home, presets=presets)
    assert Path(out["preset"]) == presets / "w2_2010s.json"
    again = cli_json("backtest", "--preset", "w2_2010s", home=home, presets=presets)
    assert again["metrics"] == out["metrics"] and again["request"] == out["request"]


def test_usage_errors_are_one_line(home):
    for args in ([], ["frobnicate"], ["runs"], ["backtest", "--cash", "lots"]):
        proc = cli(*args, home=home)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("ivybt: error: ")


def test_output_into_a_closed_pipe_exits_quietly(home):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before we write, like `ivybt strategies | head -0`
    env = {**os.environ, "IVYBT_HOME": str(home)}
    try:
        proc = subprocess.run(
            [str(IVYBT), "strategies"], stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=300
        )
    finally:
        os.close(write_end)
    assert proc.stderr == "" and proc.returncode == 141  # 128 + SIGPIPE, like git


def test_broken_pipe_not_on_stdout_is_still_a_one_line_error(home, monkeypatch, capfd):
    from engine import cli as cli_mod
    from engine.cli import catalog

    def fails(args):
        raise BrokenPipeError(32, "Broken pipe")  # e.g. a socket, while stdout is fine

    monkeypatch.setattr(catalog, "strategies", fails)
    assert cli_mod.main(["strategies"]) == 2
    assert capfd.readouterr().err == "ivybt: error: [Errno 32] Broken pipe\n"


def test_unknown_strategy_points_cli_users_at_ivybt_strategies(home):
    (home / "strategies").mkdir(parents=True, exist_ok=True)
    (home / "strategies" / "typo.py").write_text("def broken(:\n")
    proc = cli("backtest", "--strategy", "my_strat", "--symbols", "SPY", home=home)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "unknown strategy 'my_strat'" in proc.stderr
    assert "(user files that failed to load: typo.py; `ivybt strategies` or load_errors() says why)" in proc.stderr
    listed = cli("strategies", home=home)
    assert "not loaded: typo.py: syntax error at line 1" in listed.stdout


def test_malformed_csv_in_data_dir_is_one_line_naming_file_and_row(home, tmp_path):
    folder = tmp_path / "csvs"
    folder.mkdir()
    lines = (DAILY / "SPY.csv").read_text().splitlines()
    cols = lines[3].split(",")  # file line 4: swap high and low so that high < low
    header = lines[0].split(",")
    hi, lo = header.index("high"), header.index("low")
    cols[hi], cols[lo] = cols[lo], cols[hi]
    lines[3] = ",".join(cols)
    (folder / "SPY.csv").write_text("\n".join(lines) + "\n")
    proc = cli("backtest", "--strategy", "sma_cross", "--symbols", "SPY", "--data-dir", str(folder), home=home)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ivybt: error: {folder / 'SPY.csv'}: line 4: high < low")
    assert f"(high {float(cols[hi]):.10g}, low {float(cols[lo]):.10g})" in err[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_app_starts_streamlit_on_the_given_port(home):
    port = _free_port()
    env = {**os.environ, "IVYBT_HOME": str(home)}
    proc = subprocess.Popen(
        [str(IVYBT), "app", "--port", str(port), "--address", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, body = time.time() + 60, None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert body == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_request_from_yaml_mapping_with_symbols_as_text():
    # YAML `symbols: SPY` or `symbols: SPY, QQQ` is text: it must not become the characters S, P, Y
    assert BacktestRequest.from_dict({"strategy": "sma_cross", "symbols": "SPY"}).symbols == ("SPY",)
    assert BacktestRequest.from_dict({"strategy": "sma_cross", "symbols": "spy, qqq"}).symbols == ("SPY", "QQQ")
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="field 'params' must be a mapping"):
        BacktestRequest.from_dict({"strategy": "sma_cross", "symbols": ["SPY"], "params": [10, 50]})

"""`ivybt data update|freshness` and the unknown-ticker error of `ivybt backtest`, as subprocesses, against a fake
Stooq on 127.0.0.1: exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engine.data import SAMPLE_DIR
from tests.engine.cli_helpers import IVYBT
from tests.engine.fake_stooq import NEW_BARS, FakeStooq, sample_rows


@pytest.fixture
def stooq():
    with FakeStooq() as fake:
        yield fake


def run(*args: str, home: Path, url: str = "http://127.0.0.1:9/none/", **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "IVYBT_HOME": str(home), "IVYBT_STOOQ_URL": url, "IVYBT_STOOQ_TIMEOUT": "5", **env}
    for name in ("IVYBT_PRESETS", "IVYBT_DATA_ADJUST_TOLERANCE", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        environ.pop(name, None)
    environ.pop("APCA_API_KEY_ID", None)
    environ.pop("APCA_API_SECRET_KEY", None)
    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, env=environ, timeout=300)


def test_backtest_unknown_ticker_names_symbol_and_every_source(home) -> None:
    proc = run("backtest", "--strategy", "sma_cross", "--symbols", "SPY,NOPE", home=home)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivybt: error: unknown symbol 'NOPE'"), proc.stderr
    assert f"workspace imports {home / 'data'} (0 symbols)" in lines[0]
    assert f"bundled sample {SAMPLE_DIR} (38 symbols)" in lines[0]
    assert "`ivybt data update NOPE`" in lines[0]


def test_update_exit_codes_and_one_line_errors(home, stooq) -> None:
    stooq.series["spy.us"] = sample_rows("SPY") + NEW_BARS
    ok = run("data", "update", "spy", home=home, url=stooq.url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0].startswith(
        "appended SPY: +3 bars, 8,400 stored, 1993-01-29 .. 2026-06-12 from stooq"
    )
    assert ok.stderr == ""

    stooq.limited.add("qqq.us")
    bad = run("data", "update", "NOPE,SPY", "QQQ", home=home, url=stooq.url)
    assert bad.returncode == 1
    errors = bad.stderr.splitlines()
    assert len(errors) == 2, bad.stderr
    assert (
        errors[0] == f"ivybt: error: stooq: no data for NOPE (unknown ticker 'nope.us'?) from {stooq.url}?s=nope.us&i=d"
    )
    assert errors[1].startswith(f"ivybt: error: stooq: QQQ: rate limit reached from {stooq.url}?s=qqq.us&i=d")
    assert "unchanged SPY: +0 bars" in bad.stdout and "1 updated, 2 failed" in bad.stdout

    data = json.loads(run("data", "update", "SPY", "--json", home=home, url=stooq.url).stdout)
    (row,) = data["results"]
    assert (row["symbol"], row["action"], row["last"], row["adjustment"]) == (
        "SPY",
        "unchanged",
        "2026-06-12",
        "split- and dividend-adjusted",
    )


def test_update_bad_input_exits_2(home, stooq) -> None:
    proc = run("data", "update", "SPY", "--source", "yahoo", home=home, url=stooq.url)
    assert proc.returncode == 2
    # the broker plugin registered its bar sources next to the keyless default
    assert proc.stderr == "ivybt: error: unknown data source 'yahoo': choose one of stooq, alpaca, ibkr\n"
    proc = run("data", "update", "SPY", "--source", "alpaca", home=home, url=stooq.url)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivybt: error: alpaca: cannot download bars:"), proc.stderr
    assert "keys missing" in lines[0]
    assert stooq.requests == []


def test_freshness_lists_last_bar_and_age(home, stooq) -> None:
    stooq.series["spy.us"] = sample_rows("SPY") + NEW_BARS
    assert run("data", "update", "SPY", home=home, url=stooq.url).returncode == 0
    proc = run("data", "freshness", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    rows = {r["symbol"]: r for r in json.loads(proc.stdout)["symbols"]}
    assert len(rows) == 38  # 36 daily + BTC-PERP, EURUSD
    assert (rows["SPY"]["source"], rows["SPY"]["last"]) == ("workspace", "2026-06-12")
    assert (rows["QQQ"]["source"], rows["QQQ"]["last"]) == ("bundled", "2026-06-09")
    # QQQ also misses 2026-06-10, 11 and 12 (Wednesday to Friday): three trading days more than SPY
    assert rows["QQQ"]["age_trading_days"] - rows["SPY"]["age_trading_days"] == 3
    text = run("data", "freshness", home=home)
    assert text.returncode == 0 and "age (trading days)" in text.stdout and "expected last session" in text.stdout

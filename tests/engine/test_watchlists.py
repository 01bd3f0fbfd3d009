"""Watchlists: a round trip through a real SQLite file (create, replace, list, delete), names and symbols checked,
and `watchlist: NAME` as the universe of a backtest request, a preset and a batch job: the same backtest as
listing the symbols."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from engine.batch.models import JobModel
from engine.cli import main
from engine.errors import ConfigError
from engine.request import BacktestRequest, run_request
from engine.store.presets import Preset
from engine.store.watchlists import WatchlistStore, expand_symbols


def test_round_trip_through_a_real_sqlite_file(tmp_path) -> None:
    path = tmp_path / "lists.db"
    store = WatchlistStore(path)
    saved = store.save("tech", "aapl, MSFT,  nvda, msft")
    assert saved.symbols == ("AAPL", "MSFT", "NVDA")
    again = WatchlistStore(path).get("tech")  # a new store on the same file
    assert again.symbols == ("AAPL", "MSFT", "NVDA") and again.created == saved.created
    replaced = WatchlistStore(path).save("tech", ["GOOGL"])
    assert replaced.symbols == ("GOOGL",) and replaced.created == saved.created and replaced.updated >= saved.updated
    WatchlistStore(path).save("bonds", ["TLT"])
    assert WatchlistStore(path).names() == ["bonds", "tech"]
    with sqlite3.connect(path) as conn:  # what is on disk, read without our code
        rows = dict(conn.execute("SELECT name, symbols FROM watchlists").fetchall())
    assert rows == {"bonds": '["TLT"]', "tech": '["GOOGL"]'}
    WatchlistStore(path).delete("bonds")
    assert WatchlistStore(path).names() == ["tech"]
    with pytest.raises(ConfigError, match="watchlist 'bonds' not found; saved: tech"):
        WatchlistStore(path).delete("bonds")


@pytest.mark.parametrize(
    ("name", "symbols", "message"),
    [("", ["SPY"], "watchlist name ''"), ("ok", [" ", ""], "at least one symbol"), ("ok", ["S P"], "'S P'")],
)
def test_bad_names_and_symbols_are_refused(tmp_path, name, symbols, message) -> None:
    with pytest.raises(ConfigError, match=message):
        WatchlistStore(tmp_path / "w.db").save(name, symbols)


def test_a_watchlist_is_a_backtest_universe(home) -> None:
    WatchlistStore().save("trio", ["QQQ", "TLT", "GLD"])
    common = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 50}, "start": "2015-01-01", "end": "2018-12-31"}
    listed = BacktestRequest(symbols=("QQQ", "TLT", "GLD"), **common)
    named = BacktestRequest.from_dict({"symbols": "watchlist: trio", **common})
    assert named.symbols == listed.symbols
    a, b = run_request(listed), run_request(named)
    np.testing.assert_array_equal(a.equity.to_numpy(), b.equity.to_numpy())
    assert a.metrics == pytest.approx(b.metrics, nan_ok=True)
    mixed = BacktestRequest.from_dict({"symbols": ["SPY", "watchlist: trio"], **common})
    assert mixed.symbols == ("SPY", "QQQ", "TLT", "GLD")


def test_the_cli_takes_a_watchlist_as_symbols(home, capsys) -> None:
    WatchlistStore().save("trio", ["QQQ", "TLT", "GLD"])
    common = ["backtest", "--strategy", "sma_cross", "--start", "2015-01-01", "--end", "2018-12-31", "--json"]
    assert main([*common, "--symbols", "watchlist: trio"]) == 0  # upper-cased by the CLI: names ignore case
    named = json.loads(capsys.readouterr().out)
    assert main([*common, "--symbols", "QQQ,TLT,GLD"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert named["request"]["symbols"] == ["QQQ", "TLT", "GLD"]
    assert named["metrics"] == listed["metrics"]
    assert WatchlistStore().save("TRIO", ["SPY"]).name == "trio"  # one watchlist whatever the case


def test_presets_and_batch_jobs_take_a_watchlist(home) -> None:
    WatchlistStore().save("trio", ["QQQ", "TLT", "GLD"])
    preset = Preset.from_dict(
        {"schema_version": 1, "strategy": "sma_cross", "params": {}, "symbols": ["watchlist: trio"]}
    )
    assert preset.symbols == ("QQQ", "TLT", "GLD")
    assert preset.to_request().symbols == ("QQQ", "TLT", "GLD")
    job = JobModel(strategy="sma_cross", symbols="watchlist: trio")
    assert job.symbols == ["QQQ", "TLT", "GLD"]
    with pytest.raises(ConfigError, match="watchlist 'nope' not found"):
        BacktestRequest(strategy="sma_cross", symbols="watchlist: nope")


def test_text_that_is_not_a_watchlist_passes_through() -> None:
    assert expand_symbols("SPY, QQQ") == "SPY, QQQ"
    assert expand_symbols(["SPY"]) == ["SPY"]
    assert expand_symbols(3) == 3

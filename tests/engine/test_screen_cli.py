"""`ivybt screen`, `ivybt screen schedule` and `ivybt watchlist`: output equal to the engine's screen, CSV and JSON
exports, a watchlist as the universe, and bad input as one line on stderr with exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.cli import main
from engine.research.screen import ScreenSpec, run_screen
from tests.engine.cli_helpers import cli

ARGS = ["screen", "--universe", "SPY,QQQ", "TLT", "GLD", "--rank", "momentum_126", "--asof", "2020-06-30"]


def test_json_rows_equal_the_engine_screen(home, capsys) -> None:
    assert main([*ARGS, "--filter", "rsi_14<80", "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    spec = ScreenSpec(["SPY", "QQQ", "TLT", "GLD"], "momentum_126", ("rsi_14<80",), top=3, asof="2020-06-30")
    table = run_screen(spec).table
    assert out["asof"] == "2020-06-30"
    assert [r["symbol"] for r in out["rows"]] == list(table.index)
    assert [r["momentum_126"] for r in out["rows"]] == pytest.approx(list(table["momentum_126"]))


def test_csv_export_and_a_watchlist_universe(home, tmp_path, capsys) -> None:
    assert main(["watchlist", "save", "four", "SPY", "QQQ,TLT", "GLD"]) == 0
    assert main(["watchlist", "show", "four"]) == 0
    assert "SPY QQQ TLT GLD" in capsys.readouterr().out
    by_list, by_name = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main([*ARGS, "--csv", str(by_list)]) == 0
    assert (
        main(["screen", "--watchlist", "four", "--rank", "momentum_126", "--asof", "2020-06-30", "--csv", str(by_name)])
        == 0
    )
    a, b = pd.read_csv(by_list), pd.read_csv(by_name)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[:3]) == ["symbol", "rank", "last_bar"] and len(a) == 4
    assert main(["watchlist", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["watchlists"][0]["name"] == "four"
    assert main(["watchlist", "delete", "four"]) == 0


def test_schedule_add_list_remove(home, capsys) -> None:
    assert (
        main(
            [
                "screen",
                "schedule",
                "add",
                "--name",
                "dips",
                "--universe",
                "SPY",
                "--rank",
                "rsi_14",
                "--filter",
                "rsi_14<30",
                "--every",
                "30",
                "--json",
            ]
        )
        == 0
    )
    added = json.loads(capsys.readouterr().out)
    assert added["every_minutes"] == 30 and added["spec"]["filters"] == ["rsi_14<30"]
    assert main(["screen", "schedule", "list", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)["screens"]] == ["dips"]
    assert main(["screen", "schedule", "remove", str(added["id"])]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["screen", "--universe", "SPY", "--rank", "nope"], "column 'nope' is unknown"),
        (["screen", "--universe", "SPY", "--rank", "rsi_14", "--filter", "rsi_14 ~ 3"], "is not COLUMN OP VALUE"),
        (["screen", "--rank", "rsi_14"], "exactly one of --universe SYMBOLS and --watchlist NAME"),
        (["screen", "--watchlist", "none", "--rank", "rsi_14"], "watchlist 'none' not found"),
        (["watchlist", "delete", "none"], "watchlist 'none' not found"),
        (
            ["screen", "schedule", "add", "--name", "x", "--universe", "SPY", "--rank", "rsi_14", "--at", "9am"],
            "time of day '9am'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(home, capsys, args, message) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("ivybt: error: ")


def test_the_console_script_exits_2(home) -> None:
    proc = cli("screen", "--universe", "SPY", "--rank", "rsi_14", "--filter", "rsi_14 >", home=home)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "filter 'rsi_14 >'" in proc.stderr

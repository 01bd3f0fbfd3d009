"""`ivybt whatif`: JSON P&L equal to the model repriced by hand, saved and preset scenarios by name, the grid, and
one-line exit-2 errors (the console script once, then `engine.cli.main` in this process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from tests.engine.cli_helpers import cli_json
from tests.engine.whatif.hand import bsm

T = (218 - 18) / 365  # 2026-06-01 -> 2026-12-18: 200 days
BOOK = [
    {"symbol": "SPY", "quantity": 100, "price": 600.0},
    {"symbol": "SPY   261218P00550000", "quantity": 2, "price": 9.0, "implied_vol": 0.22},
]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(BOOK))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["whatif", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def hand_put(spot: float, vol: float, days: int = 0) -> float:
    return 2 * 100 * bsm("put", spot, 550.0, T - days / 365, 0.04, vol)


def test_console_script_prices_a_book(home: Path, book: Path) -> None:
    out = cli_json("whatif", "--positions", str(book), "--asof", "2026-06-01", "--rate", "0.04",
                   "--price-shock=-10%", home=home)  # fmt: skip
    assert out["total"]["pnl"] == pytest.approx(-6000.0 + hand_put(540.0, 0.22) - hand_put(600.0, 0.22), abs=1e-8)


def test_flags_json_and_grid(home: Path, book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--positions", str(book), "--asof", "2026-06-01", "--rate", "0.04", "--price-shock", "-0.1",
                   "--price-shock", "SPY=-0.2", "--vol-shock", "+0.05", "--days", "10", "--grid", "--grid-prices=-0.1,0.1",
                   "--grid-vols", "0,0.1")  # fmt: skip
    spy, put = out["positions"]
    assert spy["pnl"] == pytest.approx(-12_000.0)  # SPY=-0.2 wins over the uniform -0.1
    assert put["pnl"] == pytest.approx(hand_put(480.0, 0.27, 10) - hand_put(600.0, 0.22), abs=1e-8)
    assert out["total"]["pnl"] == pytest.approx(spy["pnl"] + put["pnl"])
    grid = out["grid"]
    assert (grid["price_shocks"], grid["vol_shifts"], grid["days"]) == ([-0.1, 0.1], [0.0, 0.1], 10)
    cell = 100 * 600 * 0.1 + hand_put(660.0, 0.32, 10) - hand_put(600.0, 0.22)
    assert grid["pnl"][1][1] == pytest.approx(cell, abs=1e-8)
    code, text, _ = run(capsys, "--positions", str(book), "--asof", "2026-06-01", "--price-shock", "-0.1", "--grid")
    assert code == 0 and "total" in text and "price \\ vol" in text


def test_save_then_run_by_name_and_list(home: Path, book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = run_json(capsys, "--save-scenario", "half", "--price-shock=-50%", "--description", "everything halves")
    assert saved["scenario"]["price_shock"] == -0.5 and Path(saved["saved"]).is_file()
    out = run_json(capsys, "--positions", str(book), "--asof", "2026-06-01", "--scenario", "half", "--days", "1")
    assert out["scenario"]["name"] == "half" and out["scenario"]["days"] == 1
    assert out["positions"][0]["pnl"] == pytest.approx(-30_000.0)
    listed = run_json(capsys, "--list-scenarios")["scenarios"]
    assert {"name": "half", "kind": "saved", "description": "everything halves"} in listed
    assert {s["name"] for s in listed if s["kind"] == "preset"} == {
        "2008-crisis",
        "march-2020",
        "gap-down-10",
        "vol-spike",
    }
    gap = run_json(capsys, "--positions", str(book), "--asof", "2026-06-01", "--scenario", "gap-down-10")
    assert gap["positions"][0]["pnl"] == pytest.approx(-6000.0)


def test_vix_flags(home: Path, book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "--positions", str(book), "--asof", "2026-06-01", "--rate", "0.04", "--vix", "15:40",
                   "--vix-kind", "relative", "--vol-multiplier", "SPY=0.5")  # fmt: skip
    vol = 0.22 * (1 + (40 / 15 - 1) * 0.5)
    assert out["positions"][1]["shocked_vol"] == pytest.approx(vol)
    assert out["positions"][1]["pnl"] == pytest.approx(hand_put(600.0, vol) - hand_put(600.0, 0.22), abs=1e-8)
    assert out["scenario"]["vix"] == {"start": 15.0, "end": 40.0, "map": "multiplier", "kind": "relative",
                                      "multipliers": {"SPY": 0.5}, "benchmark": "SPY", "lookback": 252}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --positions FILE (a JSON list of position records) or --broker NAME"),
        (["--positions", "BOOK", "--broker", "paper"], "or --broker NAME, one of them"),
        (["--positions", "missing.json"], "positions file 'missing.json' not found"),
        (["--positions", "BOOK", "--price-shock", "lots"], "--price-shock 'lots': expected a number"),
        (["--positions", "BOOK", "--price-shock=-150%"], "scenario.price_shock: -1.5 must be > -1"),
        (["--positions", "BOOK", "--vix", "40"], "--vix '40': expected FROM:TO"),
        (["--positions", "BOOK", "--vol-map", "history"], "give the VIX move with --vix"),
        (["--positions", "BOOK", "--scenario", "nope"], "scenario 'nope' not found"),
        (["--positions", "BOOK", "--asof", "2026-13-01"], "--asof '2026-13-01'"),
        (["--positions", "BOOK", "--asof", "2027-01-01"], "expired on 2026-12-18"),
        (["--positions", "BOOK", "--rate", "5"], "rate 5: expected an annual decimal"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    home: Path, book: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [str(book) if a == "BOOK" else a for a in args]
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivybt: error: ") and message in lines[0]


def test_a_malformed_positions_file_is_one_line(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"symbol": "SPY", "quantity": "ten", "price": 1.0}]))
    code, _, err = run(capsys, "--positions", str(path))
    assert code == 2
    assert err == f"ivybt: error: positions file {path}: position 1: field 'quantity' must be a number, got 'ten'\n"
    path.write_text("[{")
    code, _, err = run(capsys, "--positions", str(path))
    assert code == 2 and err.startswith(f"ivybt: error: positions file {path}: not JSON") and err.count("\n") == 1

"""`ivybt options price|iv|symbol`: Hull's numbers, the JSON keys, one-line exit-2 errors for bad input (the real
console script once, then `engine.cli.main` in this process: a start of the script costs seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from tests.engine.cli_helpers import cli_json

HULL = ["--spot", "42", "--strike", "40", "--rate", "0.1", "--years", "0.5"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert len(out.strip().splitlines()) == 1
    return json.loads(out)


def test_price_json_through_the_console_script(home: Path) -> None:
    call = cli_json("options", "price", "--type", "call", *HULL, "--vol", "0.2", home=home)
    assert {"price", "delta", "gamma", "theta", "vega", "rho"} <= set(call)
    assert round(call["price"], 2) == 4.76


def test_price_json_has_the_price_and_greeks_in_stated_units(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    call = run_json(capsys, "options", "price", "--type", "call", *HULL, "--vol", "0.2")
    put = run_json(capsys, "options", "price", "--type", "put", *HULL, "--vol", "0.2")
    assert {"price", "delta", "gamma", "theta", "vega", "rho"} <= set(call)
    assert round(call["price"], 2) == 4.76
    assert round(put["price"], 2) == 0.81
    g = run_json(capsys, "options", "price", "--type", "call", "--spot", "49", "--strike", "50", "--rate", "0.05",
                 "--years", "0.3846", "--vol", "0.2")  # fmt: skip
    assert (round(g["delta"], 3), round(g["gamma"], 3), round(g["theta"] * 365, 2)) == (0.522, 0.066, -4.31)
    assert (round(g["vega"] * 100, 1), round(g["rho"] * 100, 2)) == (12.1, 8.91)


def test_price_text_and_dividend_and_black76(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "options", "price", "--type", "call", "--spot", "930", "--strike", "900", "--rate",
                         "0.08", "--years", str(2 / 12), "--vol", "0.2", "--dividend", "0.03")  # fmt: skip
    assert code == 0, err
    price_line = next(line for line in out.splitlines() if line.startswith("price "))
    assert round(float(price_line.split()[1]), 2) == 51.83
    fut = run_json(capsys, "options", "price", "--type", "put", "--model", "black76", "--spot", "20", "--strike",
                   "20", "--rate", "0.09", "--years", str(4 / 12), "--vol", "0.25")  # fmt: skip
    assert round(fut["price"], 2) == 1.12


def test_iv_and_symbol(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "options", "iv", "--type", "put", *HULL, "--price", "0.8085993729000922")
    assert out["implied_vol"] == pytest.approx(0.2, abs=1e-9)
    sym = run_json(capsys, "options", "symbol", "SPY261218C00600000")
    assert sym == {
        "underlying": "SPY",
        "expiry": "2026-12-18",
        "right": "call",
        "strike": 600.0,
        "multiplier": 100,
        "occ": "SPY   261218C00600000",
        "compact": "SPY261218C00600000",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["price", "--type", "call", *HULL, "--vol", "-0.2"], "vol -0.2: must be >= 0"),
        (["iv", "--type", "call", *HULL, "--price", "0.5"], "no volatility fits price 0.5 for a call with intrinsic 2"),
        (["iv", "--type", "call", *HULL[:-2], "--years", "0", "--price", "3"], "years 0: implied vol needs"),
        (["price", "--type", "straddle", *HULL, "--vol", "0.2"], "invalid choice: 'straddle'"),
        (["symbol", "SPY"], "option symbol 'SPY'"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "options", *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivybt: error: ") and message in lines[0]

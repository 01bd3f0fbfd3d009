"""`ivybt greeks`: JSON equal to a hand BSM for a positions file, a paper account's positions through the same
position-source registry `whatif --broker` uses (betas by numpy from the bundled sample), grouping by sector,
and one-line exit-2 errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engine.cli import main
from engine.data import SAMPLE_DIR
from tests.engine.whatif.test_greeks_book import CALL, PUT, QQQ, RECORDS, SPY, sample_beta


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["greeks", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.json"
    path.write_text(json.dumps(RECORDS))
    return path


def test_json_per_position_and_total_equal_a_hand_bsm(book: Path, workspace, capsys) -> None:
    code, out, err = run(
        capsys, "--positions", str(book), "--asof", "2026-06-09", "--rate", "0.04", "--dividend", "0.01", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    call, shares, put = got["positions"]
    assert call["delta"] == pytest.approx(200 * CALL["delta"], rel=1e-9)
    assert call["theta"] == pytest.approx(200 * CALL["theta"], rel=1e-9)
    assert put["vega"] == pytest.approx(100 * PUT["vega"], rel=1e-9)
    assert shares["delta"] == -100
    beta_qqq = sample_beta("QQQ", "SPY")
    assert put["beta"] == pytest.approx(beta_qqq, rel=1e-9)
    expected = (
        200 * CALL["delta"] * SPY - 100 * SPY + 100 * PUT["delta"] * QQQ * beta_qqq
    ) / SPY  # SPY held: its price
    assert got["total"]["beta_delta"] == pytest.approx(expected, rel=1e-9)
    assert got["by_sector"][0]["dollar_delta"] == pytest.approx(got["total"]["dollar_delta"])


def test_text_table_by_symbol_names_units_and_the_total(book: Path, workspace, capsys) -> None:
    code, out, err = run(capsys, "--positions", str(book), "--asof", "2026-06-09", "--by", "symbol", "--payoff")
    assert code == 0, err
    assert "Theta ($/day)" in out and "Vega ($/vol pt)" in out and "Beta-weighted delta (SPY shares)" in out
    lines = out.splitlines()
    assert [ln.split()[0] for ln in lines[3:6]] == ["SPY", "QQQ", "total"]
    # the payoff table at -30 %: intrinsic x qty x 100 + shares, minus today's value (the model's, vol from the file)
    row = next(ln for ln in lines if ln.startswith("-30%"))
    spy, qqq = SPY * 0.7, QQQ * 0.7
    at_expiry = 2 * 100 * max(spy - 610, 0) - 100 * spy + 100 * max(500 - qqq, 0)
    from tests.engine.whatif.test_greeks_book import hand_bsm

    t = (pd.Timestamp("2026-12-18") - pd.Timestamp("2026-06-09")).days / 365
    base = 200 * hand_bsm(True, SPY, 610, t, 0, 0, 0.18)["price"] - 100 * SPY
    base += 100 * hand_bsm(False, QQQ, 500, t, 0, 0, 0.22)["price"]
    assert float(row.split()[1].replace(",", "")) == pytest.approx(at_expiry - base, abs=0.006)


def test_broker_positions_come_from_the_position_source_registry(workspace, capsys) -> None:
    from brokers.base import OrderRequest
    from brokers.paper.adapter import PaperBroker

    PaperBroker().submit(OrderRequest("XLK", 10, "buy"))  # fills at the sample's last close, no costs
    code, out, err = run(capsys, "--broker", "paper", "--asof", "2026-06-09", "--json")
    assert code == 0, err
    (row,) = json.loads(out)["positions"]
    xlk = float(pd.read_csv(SAMPLE_DIR / "XLK.csv")["close"].iloc[-1])
    spy = float(pd.read_csv(SAMPLE_DIR / "SPY.csv")["close"].iloc[-1])
    assert (row["symbol"], row["delta"]) == ("XLK", 10)
    assert row["dollar_delta"] == pytest.approx(10 * xlk)
    assert row["beta_delta"] == pytest.approx(10 * xlk * sample_beta("XLK", "SPY") / spy, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --positions FILE (a JSON list of position records) or --broker NAME"),
        (["--broker", "nosuch"], "unknown position source"),
    ],
)
def test_bad_input_is_one_line_exit_2(workspace, capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("ivybt: error: ") and message in err and len(err.strip().splitlines()) == 1

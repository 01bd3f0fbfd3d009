"""`ivybt backtest --borrow-bps / --margin-rate`: the flags reach the config and the financing lines are printed."""

from __future__ import annotations

import json

import pytest

from engine.cli import build_parser, main
from engine.cli.backtest import build_request
from engine.config import BacktestConfig, Financing
from engine.data import load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

ARGS = ["backtest", "--strategy", "sma_cross", "--symbols", "SPY", "--start", "2019-01-01", "--end", "2020-12-31"]
PARAMS = ["--param", "allow_short=true", "--cash-rate", "0.01"]


def test_flags_set_the_financing_section(home):
    args = build_parser().parse_args([*ARGS, "--borrow-bps", "250", "--margin-rate", "0.06"])
    fin = build_request(args).config.financing
    assert fin == Financing(borrow_bps=250.0, margin_rate=0.06)
    assert build_request(build_parser().parse_args(ARGS)).config.financing == Financing()


def test_the_json_and_the_table_carry_the_financing_lines(home, capsys: pytest.CaptureFixture[str]):
    assert main([*ARGS, *PARAMS, "--borrow-bps", "300", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    config = BacktestConfig(cash_rate=0.01, financing=Financing(borrow_bps=300.0))
    strategy = create_strategy("sma_cross", {"allow_short": True})
    want = run_backtest(load_market_data(["SPY"], "2019-01-01", "2020-12-31"), strategy, config).metrics
    assert want["borrow_cost"] > 0
    for key in ("borrow_cost", "margin_interest", "cash_interest"):
        assert metrics[key] == pytest.approx(want[key], rel=1e-12)
    assert main([*ARGS, *PARAMS, "--borrow-bps", "300"]) == 0
    text = capsys.readouterr().out
    assert "Borrow fee (currency)" in text and "Cash interest (currency)" in text

"""`ivybt whatif --broker NAME`: the Desk's positions become what-if records (equities at market value / quantity,
OCC symbols as options priced at their premium), in process on the real paper broker in a temp workspace."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from brokers.base import OrderRequest
from brokers.base import Position as BrokerPosition
from brokers.paper.adapter import PaperBroker
from brokers.whatif_positions import to_whatif
from engine.cli import main
from engine.whatif import Market, Scenario, prepare, revalue


def ivybt(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_paper_positions_under_a_price_shock(capsys: pytest.CaptureFixture[str]) -> None:
    paper = PaperBroker()
    paper.submit(OrderRequest("SPY", 10, "buy", client_order_id="by-hand"))
    held = {p.symbol: p for p in paper.positions()}
    paper.close()
    code, out, err = ivybt(capsys, "whatif", "--broker", "paper", "--price-shock", "-0.1", "--json")
    assert code == 0, err
    row = json.loads(out)["positions"][0]
    assert (row["symbol"], row["quantity"]) == ("SPY", 10)
    assert row["base_value"] == pytest.approx(held["SPY"].market_value)
    assert row["pnl"] == pytest.approx(-0.1 * held["SPY"].market_value)


def test_an_empty_account_and_an_unknown_source_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ivybt(capsys, "whatif", "--broker", "paper")
    assert code == 2 and err == "ivybt: error: --broker paper: the account holds no positions\n"
    code, _, err = ivybt(capsys, "whatif", "--broker", "nope")
    assert code == 2 and "unknown position source; registered: alpaca, ibkr, paper" in err


def test_an_option_position_is_priced_at_its_premium() -> None:
    rows = [
        BrokerPosition("SPY261218C00600000", 2.0, 30.0, 7000.0),  # 2 contracts x 100 x 35.00
        BrokerPosition("QQQ", 0.0, 500.0, 0.0),  # flat: left out
    ]
    positions = to_whatif(rows, {"SPY": 610.0})
    assert len(positions) == 1
    option = positions[0]
    assert (option.symbol, option.price, option.underlying_price) == ("SPY   261218C00600000", 35.0, 610.0)
    market = Market(dt.date(2026, 6, 1), rate=0.04)
    result = revalue(prepare(positions, market), Scenario(), market)
    assert result.base_value == pytest.approx(7000.0, abs=1e-8)  # the vol is solved from the premium

"""The paper account's daily financing by hand: a short's borrow fee, interest on cash and on negative cash, each
day once (a second refresh the same day charges nothing), each charge its own ledger row and in the cash."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta

import pytest

from brokers.base import BrokerConfigError, OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from engine.config import Financing


class Clock:
    """A settable today for the broker."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today

    def advance(self, days: int) -> None:
        self.today += timedelta(days=days)


def per_day(annual: float) -> float:
    return (1 + annual) ** (1 / 365) - 1


def test_a_short_pays_its_borrow_fee_and_cash_earns_interest_once_per_day(tmp_path):
    clock = Clock(date(2026, 3, 6))  # a Friday
    fin = Financing(borrow_bps=300.0, borrow_bps_by_symbol={"TSLA": 1000.0})
    b = PaperBroker(
        tmp_path / "p.db", price_source=StaticPrices({"TSLA": 200.0}), allow_short=True, financing=fin,
        cash_rate=0.02, clock=clock,
    )  # fmt: skip
    b.submit(OrderRequest("TSLA", 100, "sell", client_order_id="s1"))
    assert b.account().cash == pytest.approx(120_000.0)  # the first day only starts the clock
    assert b.financing_ledger() == []

    clock.advance(1)
    interest, fee = 120_000 * per_day(0.02), 100 * 200 * per_day(0.10)  # TSLA's 10% a year, not the default 3%
    cash = 120_000 + interest - fee
    assert b.account().cash == pytest.approx(cash, rel=1e-12)
    assert b.account().cash == pytest.approx(cash, rel=1e-12)  # the same day again: nothing more
    b.positions()
    rows = b.financing_ledger()
    assert [(r["day"], r["kind"], r["symbol"]) for r in rows] == [
        ("2026-03-07", "borrow_cost", "TSLA"),
        ("2026-03-07", "cash_interest", ""),
    ]
    assert rows[0]["amount"] == pytest.approx(fee, rel=1e-12) and rows[0]["basis"] == pytest.approx(20_000)
    assert rows[1]["amount"] == pytest.approx(interest, rel=1e-12)

    b.price_source = StaticPrices({"TSLA": 210.0})
    clock.advance(3)  # three days at once: each charged, compounding, the short marked at its latest price
    for _ in range(3):
        cash += cash * per_day(0.02) - 100 * 210 * per_day(0.10)
    acct = b.account()
    assert acct.cash == pytest.approx(cash, rel=1e-12)
    assert acct.equity == pytest.approx(cash - 100 * 210, rel=1e-12)
    assert len(b.financing_ledger()) == 8
    assert sum(r["amount"] for r in b.financing_ledger() if r["kind"] == "borrow_cost") == pytest.approx(
        fee + 3 * 100 * 210 * per_day(0.10), rel=1e-12
    )


@pytest.mark.parametrize("margin_rate, paid", [(0.08, 0.08), (None, 0.03)])
def test_negative_cash_pays_the_margin_rate_or_the_cash_rate(tmp_path, margin_rate, paid):
    clock = Clock(date(2026, 3, 2))
    path = tmp_path / "p.db"
    b = PaperBroker(
        path, price_source=StaticPrices({"SPY": 500.0}), financing=Financing(margin_rate=margin_rate),
        cash_rate=0.03, clock=clock,
    )  # fmt: skip
    b.account()  # starts the clock
    with sqlite3.connect(path) as db:  # seeded: 30 SPY bought on margin, 5,000 owed
        db.execute("UPDATE paper_account SET cash = -5000.0")
        db.execute("INSERT INTO paper_positions VALUES ('SPY', 30.0, 500.0)")
    clock.advance(2)
    owed = 5000.0 * (1 + per_day(paid)) ** 2
    acct = b.account()
    assert acct.cash == pytest.approx(-owed, rel=1e-12)
    assert acct.equity == pytest.approx(30 * 500 - owed, rel=1e-12)
    rows = b.financing_ledger()
    assert [r["kind"] for r in rows] == ["margin_interest", "margin_interest"]
    assert rows[0]["amount"] == pytest.approx(5000 * per_day(paid), rel=1e-12)
    assert rows[1]["basis"] == pytest.approx(5000 * (1 + per_day(paid)), rel=1e-12)


def test_no_financing_by_default_and_a_bad_rate_is_refused(tmp_path):
    clock = Clock(date(2026, 3, 2))
    b = PaperBroker(tmp_path / "p.db", price_source=StaticPrices({}), clock=clock)
    b.account()
    clock.advance(30)
    assert b.account().cash == 100_000.0 and b.financing_ledger() == []
    b.cash_rate = 0.05
    clock.advance(1)
    assert len(b.financing_ledger()) == 1
    b.reset()  # a fresh account: no charges, and its clock starts again
    clock.advance(1)
    assert b.financing_ledger() == [] and b.account().cash == 100_000.0
    with pytest.raises(BrokerConfigError, match="cash_rate 2"):
        PaperBroker(tmp_path / "q.db", cash_rate=2)


def test_the_environment_sets_the_paper_accounts_financing(tmp_path, monkeypatch, no_broker_env):
    from brokers import make_broker

    monkeypatch.setenv("IVYBT_PAPER_BORROW_BPS", "500")
    monkeypatch.setenv("IVYBT_PAPER_CASH_RATE", "0.03")
    clock = Clock(date(2026, 3, 2))
    b = make_broker(
        "paper", db_path=tmp_path / "p.db", price_source=StaticPrices({"XYZ": 50.0}), allow_short=True, clock=clock
    )
    b.submit(OrderRequest("XYZ", 40, "sell", client_order_id="s1"))
    clock.advance(1)
    cash = 102_000 * (1 + per_day(0.03)) - 40 * 50 * per_day(0.05)  # by hand: 3 % on cash, 5 % on the short
    assert b.account().cash == pytest.approx(cash, rel=1e-12)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("IVYBT_PAPER_BORROW_BPS", "lots", "IVYBT_PAPER_BORROW_BPS='lots': must be a number"),
        ("IVYBT_PAPER_MARGIN_RATE", "2", "IVYBT_PAPER_MARGIN_RATE"),
        ("IVYBT_PAPER_CASH_RATE", "-3", "IVYBT_PAPER_CASH_RATE='-3': must be an annual rate between -1 and 1"),
    ],
)
def test_a_bad_financing_setting_is_named(tmp_path, monkeypatch, no_broker_env, var, value, message):
    from brokers import make_broker

    monkeypatch.setenv(var, value)
    with pytest.raises(BrokerConfigError, match=re.escape(message)):
        make_broker("paper", db_path=tmp_path / "p.db")

"""`ivybt account financing` shows the paper account's financing ledger (issue 18 item 3: the paper broker's
charges as their own cost lines): three days of interest on 100,000 of cash at 2 % a year, worked out by hand,
each day a row and their total; a broker without a ledger is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from brokers.paper.adapter import PaperBroker

IVYBT = Path(sys.executable).parent / "ivybt"


def ivybt(*args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([str(IVYBT), *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_the_ledger_lists_each_days_interest_and_the_total(home) -> None:
    start = date.today() - timedelta(days=3)
    PaperBroker(cash_rate=0.02, clock=lambda: start).account()  # the account's financing clock starts then
    out = ivybt("account", "financing", "--broker", "paper", "--json", IVYBT_PAPER_CASH_RATE="0.02")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    daily = (1 + 0.02) ** (1 / 365) - 1
    cash, expected = 100_000.0, []
    for _ in range(3):
        expected.append(cash * daily)
        cash += cash * daily
    rows = got["ledger"]
    assert [r["day"] for r in rows] == [(start + timedelta(days=i)).isoformat() for i in (1, 2, 3)]
    assert {r["kind"] for r in rows} == {"cash_interest"}
    assert [r["amount"] for r in rows] == pytest.approx(expected, rel=1e-12)
    assert got["totals"] == pytest.approx({"cash_interest": sum(expected)}, rel=1e-12)
    text = ivybt("account", "financing", "--broker", "paper", IVYBT_PAPER_CASH_RATE="0.02").stdout
    assert f"totals: cash_interest {sum(expected):,.2f}" in text


def test_a_broker_without_a_ledger_says_where_its_financing_is(home, monkeypatch) -> None:
    out = ivybt("account", "financing", "--broker", "alpaca", ALPACA_API_KEY="k", ALPACA_SECRET_KEY="s")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "own statements" in out.stderr

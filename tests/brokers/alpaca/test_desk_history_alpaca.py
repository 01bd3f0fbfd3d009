"""The desk's equity history imports Alpaca's portfolio history: the real AlpacaBroker (alpaca-py) against
FakeAlpacaServer, the workspace's real SQLite. Imported once, marked with its source, counted in the day P&L;
a broken history is a warning and the recorded snapshots are still shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from brokers.desk import account_view, equity_history
from engine.cli import main
from engine.ops.desk_store import DeskStore
from tests.brokers.alpaca.test_alpaca import broker

SOURCE = "alpaca history"


def seconds(t: datetime) -> int:
    return int(t.timestamp())


@pytest.fixture
def days():
    """Three instants of earlier New York sessions (whole seconds, as Alpaca sends them), oldest first."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [now - timedelta(hours=h) for h in (98, 74, 50)]


def test_history_imported_once_with_its_source_and_drawdown(alpaca_fake, days):
    fake = alpaca_fake
    fake.history = [(seconds(days[0] - timedelta(days=1)), None), (seconds(days[0]), 104_000.0)]
    fake.history += [(seconds(days[1]), 96_000.0), (seconds(days[2]), 0.0)]  # a zero point: no equity, skipped
    b = broker(fake)
    frame = equity_history(b)
    assert frame.attrs["warnings"] == []
    assert fake.history_queries == [{"period": "1A", "timeframe": "1D"}]  # a year of daily points
    assert frame["source"].tolist() == [SOURCE, SOURCE, "desk"]
    assert list(frame.index[:2]) == [days[0], days[1]]
    assert frame["equity"].tolist() == [104_000.0, 96_000.0, 100_000.0]  # the fake account: cash 100,000
    assert frame["cash"].isna().tolist() == [True, True, False]
    assert frame["drawdown"].tolist() == pytest.approx([0.0, 96 / 104 - 1, 100 / 104 - 1])

    again = equity_history(b)  # the same points again: nothing added but this read's own snapshot
    assert again["source"].tolist() == [SOURCE, SOURCE, "desk", "desk"]
    assert len(fake.history_queries) == 2

    # the imported points are the account's earlier sessions: today's P&L is measured from the last one
    summary = account_view(b)
    assert summary["previous_equity"] == 96_000.0 and summary["day_pnl"] == pytest.approx(4_000.0)
    account_id = summary["account_id"]
    assert DeskStore().history("alpaca", account_id)["source"].tolist().count(SOURCE) == 2


def test_a_broken_history_is_a_warning_not_an_error(alpaca_fake, days, caplog):
    fake = alpaca_fake
    fake.history = [(seconds(days[0]), 104_000.0), ("yesterday", 101_000.0)]  # a point Alpaca should never send
    frame = equity_history(broker(fake))
    (warning,) = frame.attrs["warnings"]
    assert warning.startswith("alpaca: portfolio history not imported: BrokerError:") and "'yesterday'" in warning
    assert frame["source"].tolist() == ["desk"] and frame["equity"].tolist() == [100_000.0]
    assert any("portfolio history not imported" in r.getMessage() for r in caplog.records)


@pytest.fixture
def alpaca_env(alpaca_fake, monkeypatch):
    for var, value in (
        ("ALPACA_API_KEY", alpaca_fake.key),
        ("ALPACA_SECRET_KEY", alpaca_fake.secret),
        ("ALPACA_BASE_URL", alpaca_fake.url),
        ("ALPACA_DATA_URL", alpaca_fake.url),
    ):
        monkeypatch.setenv(var, value)
    return alpaca_fake


def test_cli_account_history_shows_the_imported_points(alpaca_env, days, capsys):
    alpaca_env.history = [(seconds(days[1]), 98_000.0)]
    assert main(["account", "history", "--broker", "alpaca", "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)["history"]
    assert [(h["equity"], h["source"], h["cash"]) for h in hist] == [
        (98_000.0, SOURCE, None),
        (100_000.0, "desk", 100_000.0),
    ]
    assert hist[0]["ts"] == days[1].isoformat()

    alpaca_env.history = [("soon", 1.0)]
    assert main(["account", "history", "--broker", "alpaca"]) == 0  # still shows what is recorded
    out, err = capsys.readouterr()
    assert err.startswith("ivybt: warning: alpaca: portfolio history not imported") and len(err.splitlines()) == 1
    assert SOURCE in out and "desk" in out

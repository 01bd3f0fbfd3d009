"""Desk services, flatten and the desk CLI with the real alpaca-py client against FakeAlpacaServer."""

from __future__ import annotations

import json

import pytest

from brokers.base import OrderRequest
from brokers.desk import positions_view
from brokers.flatten import flatten
from engine.cli import main
from engine.ops.audit_log import AuditLog
from engine.ops.desk_store import DeskStore
from engine.ops.risk import kill_switch_reason
from tests.brokers.alpaca.test_alpaca import broker


def _book(fake, b):
    """Long SPY 10 @ 480, short QQQ 5 @ 420 (prices now 500 / 400), two resting limit orders."""
    fake.set_position("SPY", 10, 480.0)
    fake.set_position("QQQ", -5, 420.0)
    b.submit(OrderRequest("AAPL", 3, "buy", "limit", limit_price=150.0, client_order_id="lim-AAPL"))
    b.submit(OrderRequest("SPY", 2, "sell", "limit", limit_price=600.0, client_order_id="lim-SPY"))


def test_positions_pnl_by_hand(alpaca_fake):
    b = broker(alpaca_fake)
    _book(alpaca_fake, b)
    equity = 100_000.0 + 10 * 500.0 - 5 * 400.0
    summary, frame = positions_view(b, targets={"SPY": 0.02})
    assert summary["equity"] == pytest.approx(equity) and summary["gross_exposure"] == pytest.approx(7000.0)
    assert summary["net_exposure"] == pytest.approx(3000.0)
    rows = frame.set_index("symbol")
    assert rows.loc["SPY", "unrealized_pnl"] == pytest.approx(10 * (500.0 - 480.0))
    assert rows.loc["SPY", "unrealized_pct"] == pytest.approx(20.0 / 480.0)
    assert rows.loc["QQQ", "unrealized_pnl"] == pytest.approx(-5 * (400.0 - 420.0))  # a short that fell: +100
    assert rows.loc["QQQ", "unrealized_pct"] == pytest.approx(100.0 / (5 * 420.0))
    assert rows.loc["SPY", "drift"] == pytest.approx(5000.0 / equity - 0.02)
    assert rows.loc["SPY", "open_orders"] == 1 and rows.loc["QQQ", "open_orders"] == 0


def test_flatten_long_short_and_limits_then_noop(alpaca_fake):
    b = broker(alpaca_fake)
    _book(alpaca_fake, b)
    rep = flatten(b, timeout=5, poll=0.01)
    assert rep.status == "flat" and rep.sent == 2 and len(rep.canceled) == 2
    assert alpaca_fake.positions == {}
    by_cid = {o["client_order_id"]: o for o in alpaca_fake.orders}
    assert by_cid["lim-AAPL"]["status"] == by_cid["lim-SPY"]["status"] == "canceled"
    spy, qqq = by_cid[f"{rep.run_id}-SPY"], by_cid[f"{rep.run_id}-QQQ"]
    assert (spy["side"], float(spy["qty"]), spy["type"], spy["status"]) == ("sell", 10.0, "market", "filled")
    assert (qqq["side"], float(qqq["qty"]), qqq["status"]) == ("buy", 5.0, "filled")
    assert kill_switch_reason() == "flatten"
    created = alpaca_fake.orders_created
    again = flatten(b, timeout=5, poll=0.01)
    assert again.status == "flat" and again.sent == 0 and again.canceled == []
    assert alpaca_fake.orders_created == created


def test_flatten_interrupted_by_a_disconnect_resumes_and_finishes(alpaca_fake):
    b = broker(alpaca_fake)
    _book(alpaca_fake, b)
    posts = alpaca_fake.order_posts
    alpaca_fake.drop_on_order = posts + 1  # the first close (QQQ) arrives and fills, its answer is lost
    first = flatten(b, timeout=5, poll=0.01, attempts=1)
    assert first.status == "interrupted" and "BrokerUnavailable" in first.errors[0]
    assert alpaca_fake.positions == {"SPY": {"qty": 10.0, "avg": 480.0}}  # QQQ closed, SPY not yet
    assert DeskStore().flatten_run(first.run_id)["status"] == "running"

    second = flatten(b, timeout=5, poll=0.01)
    assert second.resumed and second.run_id == first.run_id and second.status == "flat"
    assert second.sent == 1 and alpaca_fake.positions == {}
    closes = [o["client_order_id"] for o in alpaca_fake.orders if o["client_order_id"].startswith(first.run_id)]
    assert sorted(closes) == [f"{first.run_id}-QQQ", f"{first.run_id}-SPY"]  # nothing sent twice
    assert DeskStore().flatten_run(first.run_id)["status"] == "done"
    kinds = AuditLog().events(plan_id=first.run_id, kind="error")["message"].tolist()
    assert len(kinds) == 1 and "interrupted" in kinds[0]


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


def test_cli_blotter_cancel_flatten_and_exit_codes(alpaca_env, capsys):
    fake = alpaca_env
    _book(fake, broker(fake))

    assert main(["positions", "--broker", "alpaca", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["account"]["equity"] == pytest.approx(103_000.0)
    spy = next(p for p in out["positions"] if p["symbol"] == "SPY")
    assert (spy["quantity"], spy["unrealized_pnl"], spy["target_weight"]) == (10.0, 200.0, None)

    assert main(["positions", "--broker", "alpaca"]) == 0
    text = capsys.readouterr().out
    assert "unrealized (USD)" in text and "+200.00" in text

    assert main(["orders", "list", "--broker", "alpaca", "--symbol", "AAPL", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["orders"]
    assert (row["client_order_id"], row["limit_price"], row["status"]) == ("lim-AAPL", 150.0, "new")

    assert main(["orders", "cancel", row["id"], "--broker", "alpaca"]) == 0
    assert "canceled" in capsys.readouterr().out
    assert next(o for o in fake.orders if o["id"] == row["id"])["status"] == "canceled"

    assert main(["orders", "cancel", row["id"], "--broker", "alpaca"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivybt: error:") and "not cancelable" in err and len(err.splitlines()) == 1
    assert main(["orders", "cancel-all", "--broker", "alpaca"]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["orders", "list", "--broker", "alpaca", "--since", "not-a-date"]) == 2
    assert "not a date" in capsys.readouterr().err

    assert main(["flatten", "--broker", "alpaca"]) == 2
    assert "--yes" in capsys.readouterr().err and fake.positions
    assert main(["flatten", "--yes", "--broker", "alpaca", "--timeout", "5", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["status"] == "flat" and rep["sent"] == 2 and fake.positions == {}
    assert main(["flatten", "--yes", "--broker", "alpaca", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == 0

    assert main(["account", "history", "--broker", "alpaca", "--json"]) == 0
    hist = json.loads(capsys.readouterr().out)["history"]
    # the two `positions` reads and this one (flatten and the blotter do not read the account through the desk)
    # 103,000 before: cash 100,000 + 10 x 500 - 5 x 400; after: + 10 x 500 sold - 5 x 400 bought back
    assert [h["equity"] for h in hist] == pytest.approx([103_000.0] * 3)
    assert [h["drawdown"] for h in hist] == [0.0] * 3
    assert main(["orders", "list", "--status", "bogus"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and len(err.splitlines()) == 1


def test_cli_flatten_of_a_live_account_needs_yes_live(alpaca_env, monkeypatch, capsys):
    monkeypatch.setenv("ALPACA_LIVE", "1")
    monkeypatch.setenv("IVYBT_ALLOW_LIVE", "1")
    fake = alpaca_env
    fake.set_position("SPY", 3, 450.0)
    assert main(["flatten", "--yes", "--broker", "alpaca"]) == 2
    err = capsys.readouterr().err
    assert "LIVE account: add --yes-live" in err and len(err.splitlines()) == 1
    assert fake.positions == {"SPY": {"qty": 3.0, "avg": 450.0}} and fake.orders_created == 0
    assert kill_switch_reason() is None  # refused before anything happened
    assert main(["flatten", "--yes", "--yes-live", "--broker", "alpaca", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == 1 and fake.positions == {}

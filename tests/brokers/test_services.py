"""brokers.services: the operations the Daily Ops page and the CLI share, on a real workspace (SQLite, flag file)."""

from __future__ import annotations

import pytest

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.services import (
    audit_events,
    audit_signal_failure,
    kill_switch_status,
    reset_paper_account,
    switch_kill_switch,
)
from engine.errors import ConfigError, DataError
from engine.ops.risk import kill_switch_path


def test_kill_switch_on_off_and_audited_with_its_origin():
    assert kill_switch_status() is None
    assert switch_kill_switch(True, " broker outage ", origin="cli") == "broker outage"
    assert kill_switch_path().read_text(encoding="utf-8") == "broker outage" and kill_switch_status() == "broker outage"
    assert switch_kill_switch(False, origin="app") is None and not kill_switch_path().exists()
    events = audit_events(10)
    assert list(events["kind"]) == ["kill_switch", "kill_switch"]
    assert list(events["message"]) == ["kill switch turned OFF (app)", "kill switch turned ON (cli): broker outage"]


def test_paper_reset_starts_a_new_account_and_audits_it():
    broker = PaperBroker(price_source=StaticPrices({"SPY": 100.0}))
    broker.submit(OrderRequest("SPY", 10, "buy", client_order_id="s1"))
    old = broker.account().account_id
    account = reset_paper_account(2_500.0, origin="app", broker=broker)
    assert account.account_id != old and account.cash == account.equity == 2_500.0
    assert broker.positions() == [] and broker.orders("all") == []
    event = audit_events(1).iloc[0]
    assert event["kind"] == "account"
    assert event["message"] == f"paper account reset (app): new account {account.account_id}, cash 2,500.00"
    assert event["payload"] == {"broker": "paper", "account_id": account.account_id, "cash": 2_500.0}
    # no broker given: the workspace's paper account, back to its initial cash (the last reset's)
    again = reset_paper_account(origin="cli")
    assert again.cash == 2_500.0 and again.account_id not in (old, account.account_id)
    assert "paper account reset (cli)" in audit_events(1).iloc[0]["message"]


def test_audit_events_newest_first_of_one_plan_and_a_bad_limit():
    switch_kill_switch(True, "a")
    switch_kill_switch(False)
    assert list(audit_events(1)["message"]) == ["kill switch turned OFF (app)"]
    assert audit_events(5, plan_id="nope").empty
    with pytest.raises(ConfigError, match="limit 0 must be >= 1"):
        audit_events(0)


def test_signal_failure_audited_once_with_its_origin():
    audit_signal_failure("momo", DataError("no bars for XYZ"), origin="cli")
    audit_signal_failure("momo", DataError("no bars for XYZ"), origin="app")
    events = audit_events(2)
    assert list(events["kind"]) == ["error", "error"]
    assert list(events["message"]) == [
        "signals for momo failed (app): DataError: no bars for XYZ",
        "signals for momo failed (cli): DataError: no bars for XYZ",
    ]
    assert events.iloc[0]["payload"] == {"stage": "signals", "preset": "momo", "origin": "app", "error": "DataError"}

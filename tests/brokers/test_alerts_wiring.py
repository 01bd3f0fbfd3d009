"""The broker emitters raise alerts: kill switch, signal failure, an execution's fills (in-app list, real files)."""

from __future__ import annotations

import pytest

from brokers.execution import execute_plan
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.planning import plan_rebalance
from brokers.services import audit_signal_failure, switch_kill_switch
from engine.alerts import Inbox
from engine.config import Costs
from engine.errors import DataError
from engine.ops.audit_log import AuditLog
from tests.brokers.paper.test_execution_paper import PRICES, signal


@pytest.fixture(autouse=True)
def _no_channels(monkeypatch):
    for name in ("IVYBT_SMTP_HOST", "IVYBT_TELEGRAM_TOKEN", "IVYBT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)


def test_kill_switch_on_and_off_alert():
    switch_kill_switch(True, "broker outage", origin="cli")
    switch_kill_switch(False, origin="app")
    rows = [(r.event, r.level, r.title, r.text) for r in Inbox().list()]
    assert rows == [
        ("kill_switch", "error", "Kill switch turned OFF (app)", ""),
        ("kill_switch", "error", "Kill switch turned ON (cli)", "broker outage"),
    ]


def test_signal_failure_alerts_stale_data():
    audit_signal_failure("momo", DataError("no bars for XYZ since 2024-03-01"), origin="cli")
    ((row,),) = [Inbox().list()]
    assert (row.event, row.level, row.title, row.text) == (
        "stale_data",
        "warning",
        "Signals for momo failed (cli)",
        "DataError: no bars for XYZ since 2024-03-01",
    )


def test_an_execution_alerts_its_fills(tmp_path):
    paper = PaperBroker(tmp_path / "paper.db", initial_cash=30_000.0, price_source=StaticPrices(PRICES), costs=Costs())
    log = AuditLog()
    plan = plan_rebalance(signal(log=log), paper, log=log)
    report = execute_plan(plan, paper, log=log, notify=False)
    assert report.status == "complete"
    (row,) = Inbox().list()
    assert (row.event, row.title) == ("fill", "ops: 3 order(s) filled")
    filled = sorted(line.split()[2] for line in row.text.splitlines())
    assert filled == ["AAA", "BBB", "CCC"]
    assert all(line.startswith("buy ") for line in row.text.splitlines())

"""A protective order filled on the paper broker's bars is alerted once (in-app list and audit log, real files)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brokers.base import OrderRequest
from brokers.desk import account_view
from brokers.order_events import alert_triggered
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars, StaticPrices
from brokers.protect import PREFIX
from engine.alerts import Inbox
from engine.config import Costs
from engine.ops.audit_log import AuditLog
from tests.brokers.paper.test_resting import FIRST, frame


@pytest.fixture(autouse=True)
def _no_channels(monkeypatch):
    for name in ("IVYBT_SMTP_HOST", "IVYBT_TELEGRAM_TOKEN", "IVYBT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)


def test_a_triggered_stop_is_alerted_once_and_a_plain_fill_never(tmp_path):
    bars = StaticBars({"SPY": frame(FIRST)})
    b = PaperBroker(tmp_path / "p.db", costs=Costs(), price_source=StaticPrices({"SPY": 100.0}), bar_source=bars)
    b.submit(OrderRequest("SPY", 10, "buy", client_order_id="entry"))  # a market fill: not protective
    b.submit(OrderRequest("SPY", 10, "sell", type="stop", stop_price=95.0, client_order_id="stop-1"))
    log = AuditLog()
    assert alert_triggered(b, log) == [] and Inbox().list() == []
    bars.bars["SPY"] = frame(FIRST, (96, 97, 94))  # low 94 <= 95: the stop fills at 95
    (hit,) = alert_triggered(b, log)
    assert (hit.client_order_id, hit.avg_fill_price, hit.filled_quantity) == ("stop-1", 95.0, 10)
    (row,) = Inbox().list()
    assert (row.event, row.level, row.title) == (
        "protective_triggered",
        "warning",
        "paper: protective stop triggered on SPY",
    )
    assert row.text.startswith("SPY: stop sell 10 filled at 95 ")
    assert alert_triggered(b, log) == [] and len(Inbox().list()) == 1  # a second read alerts nothing
    assert AuditLog().events(kind="protective")["client_order_id"].tolist() == ["stop-1"]


def test_fills_older_than_the_window_are_not_replayed(tmp_path):
    bars = StaticBars({"SPY": frame(FIRST)})
    b = PaperBroker(tmp_path / "p.db", costs=Costs(), price_source=StaticPrices({"SPY": 100.0}), bar_source=bars)
    b.submit(OrderRequest("SPY", 10, "buy", client_order_id="entry"))
    b.submit(OrderRequest("SPY", 10, "sell", type="stop", stop_price=95.0, client_order_id="old"))
    bars.bars["SPY"] = frame(FIRST, (96, 97, 94))
    later = datetime.now(UTC) + timedelta(days=2)
    assert alert_triggered(b, AuditLog(), now=later) == [] and Inbox().list() == []


def test_a_preset_take_profit_limit_counts_as_protective_a_plain_limit_does_not(tmp_path):
    prices = StaticPrices({"SPY": 100.0})
    b = PaperBroker(tmp_path / "p.db", costs=Costs(), price_source=prices, bar_source=StaticBars({"SPY": frame(FIRST)}))
    b.submit(OrderRequest("SPY", 10, "buy", client_order_id="entry"))
    ours = f"{PREFIX}0123456789abcdef-1"
    for cid in ("plain", ours):
        b.submit(OrderRequest("SPY", 5, "sell", type="limit", limit_price=101.0, client_order_id=cid))
    prices.prices["SPY"] = 102.0
    b.match_open_orders()
    assert b.order("plain").status == b.order(ours).status == "filled"  # both limits filled
    assert [h.client_order_id for h in alert_triggered(b, AuditLog())] == [ours]


def test_every_desk_read_alerts_a_stop_that_triggered_since_the_last(tmp_path):
    bars = StaticBars({"SPY": frame(FIRST)})
    b = PaperBroker(tmp_path / "p.db", costs=Costs(), price_source=StaticPrices({"SPY": 100.0}), bar_source=bars)
    b.submit(OrderRequest("SPY", 10, "buy", client_order_id="entry"))
    b.submit(OrderRequest("SPY", 10, "sell", type="trailing_stop", trail_percent=10.0, client_order_id="trail"))
    account_view(b)
    assert Inbox().list() == []
    bars.bars["SPY"] = frame(FIRST, (100, 110, 101), (105, 106, 98))  # mark 110 -> level 99; low 98: fills at 99
    summary = account_view(b)
    (row,) = Inbox().list()
    assert row.title == "paper: protective trailing_stop triggered on SPY" and "filled at 99 " in row.text
    assert summary["cash"] == pytest.approx(100_000 - 1_000 + 990)  # bought 10 at 100, sold 10 at 99
    account_view(b)
    assert len(Inbox().list()) == 1

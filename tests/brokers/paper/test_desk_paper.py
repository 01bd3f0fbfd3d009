"""Desk services and flatten on the paper broker (real SQLite in a tmp workspace): every number by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from brokers.base import OrderRejected, OrderRequest
from brokers.desk import account_view, cancel_all, cancel_order, equity_history, orders_view, positions_view
from brokers.flatten import flatten
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.services import kill_switch_status, switch_kill_switch
from engine.alerts import Inbox
from engine.config import Costs
from engine.data import SAMPLE_DIR
from engine.ops.audit_log import AuditLog
from engine.ops.desk_store import DeskStore

COSTS = Costs(commission_bps=10.0, slippage_bps=20.0)  # 0.1 % commission, 0.2 % slippage


@pytest.fixture
def px():
    return StaticPrices({"SPY": 100.0, "QQQ": 50.0, "AAPL": 200.0})


@pytest.fixture
def paper(px):
    return PaperBroker(initial_cash=100_000.0, costs=COSTS, price_source=px, allow_short=True)


def test_account_positions_pnl_and_drift_by_hand(paper, px):
    paper.submit(OrderRequest("SPY", 10, "buy", client_order_id="b-SPY"))  # fills 100 x 1.002 = 100.2
    paper.submit(OrderRequest("QQQ", 4, "sell", client_order_id="s-QQQ"))  # fills 50 x 0.998 = 49.9
    paper.submit(OrderRequest("SPY", 1, "buy", "limit", limit_price=90.0, client_order_id="lim-SPY"))  # rests
    spy_fill, qqq_fill = 100.0 * 1.002, 50.0 * 0.998
    cash = 100_000.0 - 10 * spy_fill - 10 * spy_fill * 0.001 + 4 * qqq_fill - 4 * qqq_fill * 0.001
    px.prices.update(SPY=110.0, QQQ=45.0)
    equity = cash + 10 * 110.0 - 4 * 45.0

    store = DeskStore()
    acct_id = paper.account().account_id
    now = datetime.now(UTC)
    store.record_snapshot("paper", acct_id, 95_000.0, 95_000.0, 0, 0, ts=now - timedelta(days=2))
    store.record_snapshot("paper", acct_id, 99_000.0, 99_000.0, 0, 0, ts=now - timedelta(days=1))

    summary, frame = positions_view(paper, targets={"SPY": 0.05, "XLE": 0.10}, previous_closes={"SPY": 105.0})
    assert summary["equity"] == pytest.approx(equity) and summary["cash"] == pytest.approx(cash)
    assert summary["previous_equity"] == 99_000.0
    assert summary["day_pnl"] == pytest.approx(equity - 99_000.0)
    assert summary["day_pnl_pct"] == pytest.approx((equity - 99_000.0) / 99_000.0)
    assert summary["gross_exposure"] == pytest.approx(1100.0 + 180.0)
    assert summary["net_exposure"] == pytest.approx(1100.0 - 180.0)
    assert summary["leverage"] == pytest.approx(1280.0 / equity)

    rows = frame.set_index("symbol")
    assert list(rows.index) == ["QQQ", "SPY", "XLE"]
    spy, qqq, xle = rows.loc["SPY"], rows.loc["QQQ"], rows.loc["XLE"]
    assert (spy.quantity, spy.avg_cost, spy.last_price, spy.market_value) == pytest.approx((10, spy_fill, 110, 1100))
    assert spy.unrealized_pnl == pytest.approx(10 * (110.0 - spy_fill))
    assert spy.unrealized_pct == pytest.approx((110.0 - spy_fill) / spy_fill)
    assert spy.today_pnl == pytest.approx(10 * (110.0 - 105.0))
    assert spy.weight == pytest.approx(1100.0 / equity) and spy.drift == pytest.approx(1100.0 / equity - 0.05)
    assert spy.open_orders == 1
    # the short gained: it was sold at 49.9 and is now worth 45
    assert qqq.unrealized_pnl == pytest.approx(-4 * (45.0 - qqq_fill)) and qqq.unrealized_pnl > 0
    assert qqq.unrealized_pct == pytest.approx(4 * (qqq_fill - 45.0) / (4 * qqq_fill))
    assert math.isnan(qqq.today_pnl) and qqq.target_weight == 0.0
    assert qqq.drift == pytest.approx(-180.0 / equity) and qqq.open_orders == 0
    assert (xle.quantity, xle.market_value, xle.target_weight) == (0.0, 0.0, 0.10)
    assert xle.drift == pytest.approx(-0.10)

    # the read was snapshotted: three rows now, the last one with today's numbers
    hist = store.history("paper", acct_id)
    assert len(hist) == 3 and hist["equity"].iloc[-1] == pytest.approx(equity)
    assert hist["gross_exposure"].iloc[-1] == pytest.approx(1280.0)


def test_day_pnl_ignores_snapshots_of_the_same_session(paper):
    acct = paper.account()
    store = DeskStore()
    store.record_snapshot("paper", acct.account_id, 90_000.0, 90_000.0, 0, 0)  # today: not the previous session
    assert account_view(paper, store=store)["day_pnl"] is None


def test_equity_history_drawdown(paper):
    acct_id = paper.account().account_id
    store = DeskStore()
    t0 = datetime(2026, 1, 5, 15, tzinfo=UTC)
    for k, eq in enumerate([100_000.0, 120_000.0, 90_000.0]):
        store.record_snapshot("paper", acct_id, eq, eq, 0, 0, ts=t0 + timedelta(days=k))
    frame = equity_history(paper, store=store)  # adds today's snapshot: 100,000
    assert frame["equity"].tolist() == [100_000.0, 120_000.0, 90_000.0, 100_000.0]
    assert frame["drawdown"].tolist() == pytest.approx([0.0, 0.0, 90 / 120 - 1, 100 / 120 - 1])


def test_order_blotter_filters_and_cancel(paper):
    paper.submit(OrderRequest("SPY", 2, "buy", client_order_id="m-SPY"))
    paper.submit(OrderRequest("QQQ", 3, "buy", "limit", limit_price=40.0, client_order_id="l-QQQ"))
    paper.submit(OrderRequest("SPY", 1, "sell", "limit", limit_price=150.0, client_order_id="l-SPY"))
    open_ = orders_view(paper, "open")
    assert sorted(open_["client_order_id"]) == ["l-QQQ", "l-SPY"]
    row = open_.set_index("client_order_id").loc["l-QQQ"]
    assert (row.type, row.side, row.quantity, row.filled, row.limit_price) == ("limit", "buy", 3.0, 0.0, 40.0)
    assert row.age_s >= 0
    assert orders_view(paper, "closed")["client_order_id"].tolist() == ["m-SPY"]
    assert sorted(orders_view(paper, "all", symbol="spy")["client_order_id"]) == ["l-SPY", "m-SPY"]
    assert orders_view(paper, "all", side="sell")["client_order_id"].tolist() == ["l-SPY"]
    tomorrow = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    assert orders_view(paper, "all", since=tomorrow).empty

    after = cancel_order(paper, "l-QQQ")
    assert after.status == "canceled" and after.client_order_id == "l-QQQ"
    with pytest.raises(OrderRejected, match="canceled, not cancelable"):
        cancel_order(paper, "l-QQQ")
    with pytest.raises(OrderRejected, match="no order 'nope'"):
        cancel_order(paper, "nope")
    rows = cancel_all(paper)
    assert [(r["client_order_id"], r["status"], r["error"]) for r in rows] == [("l-SPY", "canceled", "")]
    assert paper.orders("open") == []
    msgs = AuditLog().events(kind="order")["message"].tolist()
    assert len(msgs) == 2 and all("canceled" in m for m in msgs)


def test_flatten_long_and_short_with_open_limits_then_noop(paper, px):
    paper.submit(OrderRequest("SPY", 10, "buy"))
    paper.submit(OrderRequest("QQQ", 4, "sell"))
    paper.submit(OrderRequest("AAPL", 1, "buy", "limit", limit_price=150.0, client_order_id="lim-AAPL"))
    paper.submit(OrderRequest("SPY", 2, "sell", "limit", limit_price=130.0, client_order_id="lim-SPY"))
    switch_kill_switch(True, "manual stop")  # flatten works while the kill switch is on

    rep = flatten(paper, timeout=5, poll=0.01)
    assert rep.status == "flat" and not rep.resumed and rep.sent == 2 and not rep.errors
    assert sorted(r["client_order_id"] for r in rep.canceled) == ["lim-AAPL", "lim-SPY"]
    assert paper.positions() == [] and paper.orders("open") == []
    closes = {o.client_order_id: o for o in paper.orders("closed") if o.client_order_id.startswith(rep.run_id)}
    assert set(closes) == {f"{rep.run_id}-QQQ", f"{rep.run_id}-SPY"}
    assert (closes[f"{rep.run_id}-SPY"].side, closes[f"{rep.run_id}-SPY"].filled_quantity) == ("sell", 10)
    assert (closes[f"{rep.run_id}-QQQ"].side, closes[f"{rep.run_id}-QQQ"].filled_quantity) == ("buy", 4)
    assert kill_switch_status() == "manual stop"  # an earlier reason is kept

    trail = AuditLog().events(plan_id=rep.run_id)
    kinds = trail["kind"].tolist()[::-1]  # oldest first
    assert kinds[:2] == ["execute", "kill_switch"] and kinds[-1] == "execute"
    assert kinds.count("order") == 2 and kinds.count("ack") == 2 and kinds.count("fill") == 2
    assert "result FLAT" in trail["message"].iloc[0]
    assert (DeskStore().flatten_run(rep.run_id) or {})["status"] == "done"
    note = [n for n in Inbox().list() if n.event == "flatten"]
    assert len(note) == 1 and "FLAT" in note[0].title and "2 sent" in note[0].text  # the in-app alert

    n_orders = len(paper.orders("all"))
    again = flatten(paper, timeout=5, poll=0.01)
    assert again.status == "flat" and again.run_id != rep.run_id
    assert (again.sent, again.canceled, again.closes) == (0, [], [])
    assert len(paper.orders("all")) == n_orders


def test_flatten_turns_the_kill_switch_on(paper):
    paper.submit(OrderRequest("SPY", 1, "buy"))
    assert kill_switch_status() is None
    assert flatten(paper, timeout=5, poll=0.01).status == "flat"
    assert kill_switch_status() == "flatten"


def test_todays_pnl_from_the_workspace_data_by_default(paper, px):
    paper.submit(OrderRequest("SPY", 10, "buy"))
    px.prices["SPY"] = 700.0
    bars = pd.read_csv(SAMPLE_DIR / "SPY.csv")  # the bundled sample ends before today: its last close
    prev = float(bars["close"].iloc[-1])
    _, frame = positions_view(paper)
    assert frame.set_index("symbol").loc["SPY", "today_pnl"] == pytest.approx(10 * (700.0 - prev))

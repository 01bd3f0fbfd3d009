"""AppTest of the Desk page on the paper broker (workspace in tmp_path): account cards, positions with P&L,
cancel one open order, then flatten behind the typed confirmation; the equity history with a preset's backtest
rebased beside it."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from brokers.base import OrderRequest, OrderStatus
from brokers.paper.adapter import PaperBroker
from engine.data import SAMPLE_DIR
from engine.ops.desk_store import DeskStore
from engine.ops.risk import kill_switch_reason
from tests.pages.page_helpers import ROOT, assert_clean, chart_traces, frame, page


def last_close(symbol: str) -> float:
    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def desk_page():
    at = page("home")
    at.run()
    return at.switch_page("pages/desk.py")


def test_positions_cancel_and_flatten_on_paper(workspace):
    paper = PaperBroker()  # no costs: fills at the sample's last close
    paper.submit(OrderRequest("XLK", 10, "buy"))
    limit = round(last_close("XLF") * 0.5, 2)
    paper.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=limit, client_order_id="lim-XLF"))
    at = desk_page()
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Desk"
    xlk = last_close("XLK")
    equity = 100_000.0  # bought at the last close, still marked at it: no P&L yet
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Equity (USD)"] == f"{equity:,.2f}" and metrics["Cash (USD)"] == f"{equity - 10 * xlk:,.2f}"
    pos = frame(at, "symbol")
    assert list(pos.index) == ["XLK"]
    assert pos.loc["XLK", "market_value"] == pytest.approx(10 * xlk)
    assert pos.loc["XLK", "unrealized_pnl"] == pytest.approx(0.0)
    assert pos.loc["XLK", "weight"] == pytest.approx(10 * xlk / equity)
    orders = frame(at, "id")
    assert orders["client_order_id"].tolist() == ["lim-XLF"] and orders["limit_price"].tolist() == [limit]

    (oid,) = orders.index
    at.button(key=f"desk_cancel_{oid}").click().run()
    assert_clean(at)
    assert got(paper, "lim-XLF").status == "canceled"
    assert any("No open orders" in i.value for i in at.info)

    assert at.button(key="desk_flatten").disabled
    at.text_input(key="desk_flatten_confirm").input("flatten").run()
    assert at.button(key="desk_flatten").disabled  # the word must be typed exactly
    at.text_input(key="desk_flatten_confirm").input("FLATTEN").run()
    at.button(key="desk_flatten").click().run()
    assert not at.exception and not at.error
    assert any("FLAT" in s.value for s in at.success)
    assert paper.positions() == [] and kill_switch_reason() == "flatten"


def test_equity_history_with_the_preset_backtest_rebased_beside_it(workspace, presets):
    presets.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "presets" / "spy_trend.json", presets / "spy_trend.json")
    paper = PaperBroker()
    account_id = paper.account().account_id
    store = DeskStore()
    # two earlier snapshots inside the bundled sample's dates (SPY bars on 2026-06-01 .. 2026-06-05)
    store.record_snapshot("paper", account_id, 95_000.0, 95_000.0, 0.0, 0.0, datetime(2026, 6, 1, 20, tzinfo=UTC))
    store.record_snapshot("paper", account_id, 97_000.0, 97_000.0, 0.0, 0.0, datetime(2026, 6, 3, 20, tzinfo=UTC))
    at = desk_page()
    at.run()
    assert_clean(at)
    (chart,) = at.get("plotly_chart")
    traces = {t["name"]: t for t in chart_traces(chart)}
    assert set(traces) == {"Live", "Drawdown"}
    live = list(traces["Live"]["y"])
    # the recorded snapshots first, then the page's own reads of the account (100,000 each: no positions)
    assert live[:2] == [95_000.0, 97_000.0] and set(live[2:]) == {100_000.0}
    assert list(traces["Drawdown"]["y"][:3]) == pytest.approx([0.0, 0.0, 0.0])

    at.selectbox(key="desk_preset").select("spy_trend").run()
    assert_clean(at)
    (chart,) = at.get("plotly_chart")
    traces = {t["name"]: t for t in chart_traces(chart)}
    backtest = list(traces["Backtest (spy_trend)"]["y"])
    # the page's own snapshots are dated today, after the sample's last bar: only the two recorded ones match
    assert len(backtest) == 2 and backtest[0] == pytest.approx(95_000.0)


def closed_frame(at) -> pd.DataFrame | None:
    """The closed-orders table (it has the fill columns and no age), or None when the page shows none."""
    for df in at.dataframe:
        if "filled_at" in df.value.columns and "age_s" not in df.value.columns:
            return df.value
    return None


def closed_rows(at) -> pd.DataFrame:
    """The closed-orders table, which the page must show."""
    shown = closed_frame(at)
    assert shown is not None, "no closed-orders table on the page"
    return shown


def got(paper: PaperBroker, cid: str) -> OrderStatus:
    """The broker's own record of the order (it must know it)."""
    o = paper.order(cid)
    assert o is not None, cid
    return o


def test_modify_an_open_order_and_closed_orders_with_filters(workspace):
    paper = PaperBroker()  # no costs: market orders fill at the sample's last close
    paper.submit(OrderRequest("XLK", 10, "buy", client_order_id="m-XLK"))
    paper.submit(OrderRequest("XLE", 3, "buy", client_order_id="m-XLE"))
    limit = round(last_close("XLF") * 0.5, 2)
    paper.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=limit, client_order_id="lim-XLF"))
    oid = got(paper, "lim-XLF").id
    at = desk_page()
    at.run()
    assert_clean(at)

    closed = closed_rows(at)
    assert sorted(closed["client_order_id"]) == ["m-XLE", "m-XLK"]
    xlk = closed.set_index("client_order_id").loc["m-XLK"]
    assert (xlk.status, xlk.filled, xlk.avg_fill_price) == ("filled", 10.0, pytest.approx(last_close("XLK")))
    filled_at = pd.Timestamp(xlk.filled_at)
    assert abs(pd.Timestamp.now(tz="UTC") - filled_at) < pd.Timedelta(hours=1)  # filled by this test
    at.text_input(key="desk_closed_symbol").input("xle").run()
    assert closed_rows(at)["client_order_id"].tolist() == ["m-XLE"]
    at.selectbox(key="desk_closed_side").select("sell").run()
    assert closed_frame(at) is None and any("match the filters" in i.value for i in at.info)
    at.selectbox(key="desk_closed_side").select("buy").run()
    at.text_input(key="desk_closed_symbol").input("").run()
    at.date_input(key="desk_closed_since").set_value(date.today() + timedelta(days=2)).run()
    assert closed_frame(at) is None
    at.date_input(key="desk_closed_since").set_value(date.today() - timedelta(days=2)).run()
    assert len(closed_rows(at)) == 2

    price = at.number_input(key=f"desk_mod_{oid}_limit_price")
    assert price.value == limit and at.number_input(key=f"desk_mod_{oid}_quantity").value == 5.0
    price.set_value(0.0)
    at.button(key=f"desk_modify_{oid}").click().run()
    assert [e.value for e in at.error] == [f"modify failed: modify {oid}: limit_price 0.0 must be a number > 0"]
    assert got(paper, "lim-XLF").limit_price == limit  # refused before anything was sent

    at.number_input(key=f"desk_mod_{oid}_limit_price").set_value(limit - 1)
    at.button(key=f"desk_modify_{oid}").click().run()
    assert_clean(at)
    assert got(paper, "lim-XLF").limit_price == pytest.approx(limit - 1)  # in the broker
    assert got(paper, "lim-XLF").quantity == 5.0  # the quantity input was left alone: not sent
    assert frame(at, "id").loc[oid, "limit_price"] == pytest.approx(limit - 1)  # and on the page, read after
    assert any(f"limit {limit - 1:g}" in s.value for s in at.success)

    at.button(key=f"desk_cancel_{oid}").click().run()  # the canceled order moves to the closed table at once
    assert_clean(at)
    closed = closed_rows(at).set_index("client_order_id")
    assert closed.loc["lim-XLF", "status"] == "canceled" and closed.loc["lim-XLF", "filled"] == 0.0


def test_the_paper_accounts_financing_by_day(workspace, monkeypatch):
    monkeypatch.setenv("IVYBT_PAPER_CASH_RATE", "0.02")
    start = date.today() - timedelta(days=2)
    PaperBroker(cash_rate=0.02, clock=lambda: start).account()  # the financing clock starts two days ago
    at = desk_page()
    at.run()
    assert_clean(at)
    daily = 1.02 ** (1 / 365) - 1
    expected = [100_000 * daily, 100_000 * (1 + daily) * daily]  # compounding: the second day earns on the first
    (ledger,) = [d.value for d in at.dataframe if "kind" in d.value.columns]
    assert ledger["day"].tolist() == [(start + timedelta(days=i)).isoformat() for i in (1, 2)]
    assert ledger["amount"].tolist() == pytest.approx(expected, rel=1e-12)
    assert any(f"cash interest {sum(expected):,.2f}" in c.value for c in at.caption)

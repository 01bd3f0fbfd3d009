"""AppTest of the Desk page on the paper broker (workspace in tmp_path): account cards, positions with P&L,
cancel one open order, then flatten behind the typed confirmation; the equity history with a preset's backtest
rebased beside it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pandas as pd
import pytest

from brokers.base import OrderRequest
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
    assert paper.order("lim-XLF").status == "canceled"
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

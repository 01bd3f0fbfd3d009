"""The Journal page: pick a run, journal one of its trades through the form, see it in the trade table (and filter
by its tag), as a marker on the equity curve at the curve's value, and in the P&L statistics; export buttons give
the same CSV the engine writes. The form's save path refuses a non-image screenshot with its one-line message."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.errors import ConfigError
from engine.journal.model import backtest_target
from engine.journal.store import JournalStore
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import Downloads, assert_clean, chart_traces, page
from ui import journal_view as view


@pytest.fixture
def run(workspace):
    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2015-01-01",
        end="2021-12-31",
        config=BacktestConfig(),
    )
    result = run_request(request)
    return RunStore().save(result, request), result


def test_no_runs_says_so(workspace) -> None:
    at = page("journal").run()
    assert_clean(at)
    assert "No saved runs yet" in at.info[0].value


def test_journal_a_trade_through_the_form(run, monkeypatch) -> None:
    run_id, result = run
    trades = result.trades.reset_index(drop=True)
    assert len(trades) >= 4
    JournalStore().add_setup("trend start")  # the setup list a person grew before (a new one: the browser test)
    downloads = Downloads(monkeypatch)
    at = page("journal").run()
    assert_clean(at)
    assert len(at.dataframe[0].value) == len(trades)  # every trade of the run, none journaled yet

    at.selectbox(key="jr_pick_A backtest run").set_value(2).run()
    key = f"jr_form_{backtest_target(run_id, 2).key()}_0"
    at.text_area(key=f"{key}_notes").input("waited for the cross")
    at.multiselect(key=f"{key}_tags").set_value(["patience"])
    at.selectbox(key=f"{key}_setup").set_value("trend start")
    at.select_slider(key=f"{key}_state").set_value(3)
    at.button[0].click().run()  # the form's submit button
    assert_clean(at)
    assert "Saved journal entry #1" in at.success[0].value

    (entry,) = JournalStore().entries()
    assert (entry.target.run_id, entry.target.trade_index) == (run_id, 2)
    assert (entry.notes, entry.tags, entry.setup, entry.state) == (
        "waited for the cross",
        ("patience",),
        "trend start",
        3,
    )
    assert entry.symbol == "SPY" and pd.Timestamp(entry.trade_time) == pd.Timestamp(trades["entry_time"].iloc[2])

    table = at.dataframe[0].value
    assert table.loc[2, "journal"] == "#1" and table.loc[2, "tags"] == "patience"
    at.multiselect(key="jr_filter_tags").set_value(["patience"]).run()
    assert list(at.dataframe[0].value.index) == [2]

    # the marker sits on the equity curve at the trade's entry bar (the Equity tab)
    (marker,) = [t for t in chart_traces(at.get("plotly_chart")[0]) if t.get("name") == "Journal"]
    entry_time = pd.Timestamp(trades["entry_time"].iloc[2])
    assert pd.Timestamp(marker["x"][0]) == entry_time
    assert float(marker["y"][0]) == pytest.approx(float(result.equity.loc[:entry_time].iloc[-1]))
    assert "waited for the cross" in marker["text"][0]
    # and on the price chart at the trade's entry price
    (on_price,) = [t for t in chart_traces(at.get("plotly_chart")[1]) if t.get("name") == "Journal"]
    assert pd.Timestamp(on_price["x"][0]) == entry_time
    assert float(on_price["y"][0]) == pytest.approx(float(trades["entry_price"].iloc[2]))

    # statistics: the one tag's P&L is the trade's P&L
    stats = at.dataframe[1].value
    pnl = float(trades["pnl"].iloc[2])
    assert stats.loc["patience", "total_pnl"] == pytest.approx(round(pnl, 2))
    assert stats.loc["patience", "win_rate_%"] == (100.0 if pnl > 0 else 0.0)

    csv = downloads.content(at.get("download_button")[0]).decode()
    back = pd.read_csv(io.StringIO(csv))
    assert back.loc[0, "notes"] == "waited for the cross" and back.loc[0, "pnl"] == pytest.approx(pnl)


def test_form_refuses_a_text_file_named_png(run) -> None:
    run_id, result = run

    class FakeUpload:
        name = "chart.png"

        def getvalue(self) -> bytes:
            return b"not a picture at all"

    target, symbol, when = view.target_of(view.BACKTEST, 0, result.trades.iloc[0], run_id)
    with pytest.raises(ConfigError, match=r"screenshot 'chart.png' refused: not an image"):
        view.save_entry(JournalStore(), target, symbol, when, "x", [], None, view.NO_STATE, [FakeUpload()])
    assert JournalStore().entries() == []  # nothing written


def test_live_fills_are_journaled_with_their_round_trip_pnl(workspace) -> None:
    from engine.ops.audit_log import AuditLog

    log = AuditLog()
    log.record_plan("p1", "preset", "paper", "acct-9", "2024-03-01", True, {})
    for cid, side, price, at in (
        ("buy-1", "buy", 50.0, "2024-03-01T15:00:00"),
        ("sell-1", "sell", 56.0, "2024-03-04T15:00:00"),
    ):
        log.record_order_result(
            client_order_id=cid, plan_id="p1", broker="paper", symbol="XLE", side=side, quantity=10,
            filled_quantity=10, avg_fill_price=price, reference_price=price, slippage_bps=0.0, status="filled",
            filled_at=at,
        )  # fmt: skip
    at = page("journal")
    at.run()
    at.radio(key="jr_source").set_value(view.LIVE).run()
    assert_clean(at)
    fills = at.dataframe[0].value
    assert list(fills["fill_id"]) == ["buy-1", "sell-1"]
    assert list(fills["pnl"]) == pytest.approx([60.0, 60.0])  # one round trip: 10 x (56 - 50), on both fills

    at.selectbox(key="jr_pick_Live fills").set_value(0).run()
    key = f"jr_form_{view.live_target('paper', 'buy-1').key()}_0"
    at.text_area(key=f"{key}_notes").input("energy breakout")
    at.multiselect(key=f"{key}_tags").set_value(["energy"])
    at.button[0].click().run()
    assert_clean(at)
    (entry,) = JournalStore().entries(kind="live")
    assert (entry.target.broker, entry.target.fill_id, entry.target.account_id) == ("paper", "buy-1", "acct-9")
    assert entry.symbol == "XLE" and entry.notes == "energy breakout"
    assert at.dataframe[1].value.loc["energy", "total_pnl"] == pytest.approx(60.0)

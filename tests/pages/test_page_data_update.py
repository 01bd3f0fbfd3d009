"""Issue 16 item 6 on the pages: an unknown ticker on the Backtest page is an error box naming the sources tried;
the Data page's Update button fetches from a fake Stooq on 127.0.0.1 and the table shows the new last bar / age."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine.data import WorkspaceSource
from engine.ops.trading_days import is_trading_day
from tests.engine.fake_stooq import NEW_BARS, FakeStooq, sample_rows
from tests.pages.page_helpers import errors, page


@pytest.fixture
def stooq(workspace, monkeypatch):
    with FakeStooq() as fake:
        monkeypatch.setenv("IVYBT_STOOQ_URL", fake.url)
        monkeypatch.setenv("IVYBT_STOOQ_TIMEOUT", "5")
        yield fake


def test_backtest_page_unknown_ticker_is_an_error_naming_the_sources(workspace) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["NOPE"])
    at.button(key="bt_run").click().run()
    assert not at.exception
    msgs = errors(at)
    assert len(msgs) == 1, msgs
    # the symbol, every source looked in (with its folder), and how to get it
    assert "unknown symbol 'NOPE'" in msgs[0]
    assert f"workspace imports {workspace / 'data'} (0 symbols)" in msgs[0]
    assert "bundled sample" in msgs[0] and "(38 symbols)" in msgs[0]  # 36 daily + 2 intraday
    assert "ivybt data update NOPE" in msgs[0]


def _ages(at) -> pd.Series:
    return at.dataframe[0].value.set_index("symbol")["age_trading_days"]


def _trading_days(after: dt.date, upto: dt.date) -> int:
    """Independent count: weekdays after `after` up to `upto` that the NYSE calendar keeps."""
    days = pd.date_range(after + dt.timedelta(days=1), upto, freq="B")
    return sum(1 for d in days if is_trading_day(d.date()))


def test_data_page_update_button_fetches_merges_and_refreshes_freshness(stooq) -> None:
    stooq.series["spy.us"] = sample_rows("SPY") + NEW_BARS
    at = page("data")
    at.run()
    before = at.dataframe[0].value.set_index("symbol")
    assert pd.Timestamp(before.loc["SPY", "last"]) == pd.Timestamp("2026-06-09")
    old_age = int(_ages(at)["SPY"])
    assert old_age > 0  # the bundled data ends 2026-06-09: it is behind

    at.multiselect(key="data_update_symbols").set_value(["SPY", "NOPE"]).run()
    at.button(key="data_update_go").click().run()
    assert not at.exception

    table = at.dataframe[0].value.set_index("symbol")
    assert table.loc["SPY", "source"] == "workspace"
    assert pd.Timestamp(table.loc["SPY", "last"]) == pd.Timestamp(NEW_BARS[-1][0])
    assert table.loc["SPY", "bars"] == len(sample_rows("SPY")) + len(NEW_BARS)
    # three new bars, 2026-06-10..12 (Wed..Fri): the age dropped by the trading days in between
    assert int(_ages(at)["SPY"]) == old_age - _trading_days(dt.date(2026, 6, 9), dt.date(2026, 6, 12))

    shown = [df.value for df in at.dataframe if "action" in df.value.columns]
    assert len(shown) == 1, [list(df.value.columns) for df in at.dataframe]
    rows = shown[0].set_index("symbol")
    assert rows.loc["SPY", "action"] == "appended" and rows.loc["SPY", "added"] == 3
    assert rows.loc["NOPE", "action"] == "error"
    msgs = errors(at)
    assert len(msgs) == 1 and msgs[0].startswith("NOPE: stooq: no data for NOPE"), msgs
    assert "s=nope.us" in msgs[0]
    assert any("1 symbol(s)" in s.value and "3 bar(s) added" in s.value for s in at.success)
    # stored: the bundled history plus exactly the served new rows
    stored = WorkspaceSource().load("SPY")
    assert [d.strftime("%Y-%m-%d") for d in stored.index[-3:]] == [r[0] for r in NEW_BARS]
    assert stored["close"].iloc[-3:].tolist() == [float(r[4]) for r in NEW_BARS]
    assert sorted(p.split("?")[1] for p in stooq.requests) == ["s=nope.us&i=d", "s=spy.us&i=d"]

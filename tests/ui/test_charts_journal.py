"""Journal markers on a figure: on an equity curve each marker sits on the curve's value at (or last before) the
trade's time, whatever the time zones; on a price chart at the trade's price, for the chosen symbol only; the hover
carries the entry's notes, tags and P&L."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from ui.charts_journal import TRACE_NAME, add_journal_markers


def journal(times: list[str], symbols: list[str], prices: list[float]) -> pd.DataFrame:
    n = len(times)
    return pd.DataFrame(
        {
            "trade_time": times,
            "symbol": symbols,
            "price": prices,
            "notes": [f"note {i} <b>" for i in range(n)],
            "tags": [("a", "b")] * n,
            "setup": ["gap"] * n,
            "state_label": ["3 calm"] * n,
            "pnl": [12.5, np.nan, -3.0][:n],
        },
        index=pd.Index(range(1, n + 1), name="id"),
    )


def test_markers_sit_on_the_equity_curve() -> None:
    idx = pd.bdate_range("2024-01-01", periods=10)  # naive daily bars
    equity = pd.Series(np.arange(100.0, 110.0), index=idx)
    # a bar's own time, a time between bars (a weekend: the Friday's value), a UTC-aware time of a bar
    table = journal(["2024-01-03T00:00:00", "2024-01-06T12:00:00", "2024-01-10T00:00:00+00:00"], ["SPY"] * 3, [1, 2, 3])
    fig = add_journal_markers(go.Figure(go.Scatter(x=idx, y=equity)), table, y=equity)
    (trace,) = [t for t in fig.data if t.name == TRACE_NAME]
    assert list(trace.y) == [102.0, 104.0, 107.0]  # Jan 3 = bar 2; Jan 6 (Sat) -> Jan 5 = bar 4; Jan 10 = bar 7
    assert [pd.Timestamp(x) for x in trace.x] == [
        pd.Timestamp("2024-01-03"),
        pd.Timestamp("2024-01-06 12:00"),
        pd.Timestamp("2024-01-10"),
    ]
    assert list(trace.customdata) == [1, 2, 3]
    assert "note 0 &lt;b>" in trace.text[0] and "tags: a, b" in trace.text[0] and "P&L 12.50" in trace.text[0]
    assert "P&L" not in trace.text[1]  # no P&L yet: none shown


def test_price_chart_markers_for_one_symbol_at_the_trade_price() -> None:
    table = journal(["2024-01-03", "2024-01-04", "2024-01-05"], ["SPY", "QQQ", "SPY"], [470.5, 400.0, 468.25])
    fig = add_journal_markers(go.Figure(), table, symbol="SPY")
    (trace,) = fig.data
    assert list(trace.y) == pytest.approx([470.5, 468.25])
    assert list(trace.customdata) == [1, 3]
    assert add_journal_markers(go.Figure(), table, symbol="IWM").data == ()  # nothing to show: no trace
    grid = make_subplots(rows=2, cols=1)
    (on_top,) = add_journal_markers(grid, table, symbol="QQQ", row=1, col=1).data
    assert (on_top.xaxis, on_top.yaxis, list(on_top.y)) == ("x", "y", [400.0])
    assert len(add_journal_markers(go.Figure(), table, symbol="QQQ", row=1, col=1).data) == 1  # a plain figure


def test_markers_on_a_utc_curve_from_naive_times() -> None:
    idx = pd.date_range("2024-01-01 21:00", periods=3, freq="D", tz="UTC")
    equity = pd.Series([1.0, 2.0, 3.0], index=idx)
    fig = add_journal_markers(go.Figure(), journal(["2024-01-02T22:00:00"], ["SPY"], [1.0]), y=equity)
    assert list(fig.data[0].y) == [2.0]

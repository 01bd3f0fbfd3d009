"""The price chart explains the trades: the strategy's own lines, a hover per trade equal to its record, the stop
levels each trade really carried (a strategy's own ATR stops too), and the viewer's dark or light theme.

The old chart drew no strategy line, hovered only "entry long @ price", drew the config's stops only (none for
ema_trend, whose stops are its own) and had no theme of its own.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pandas_ta as ta
import plotly.io as pio
import pytest

from engine.data import load_market_data
from engine.figures.style import themed
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from ui import charts, charts_price, figure_theme, price_view

START, END = "2012-01-01", "2019-12-31"


def _stored(request: BacktestRequest):
    store = RunStore()
    return store.load(store.save(run_request(request), request))


@pytest.fixture
def ema_run(home):
    """ema_trend on SPY: its own ATR stop-loss, take-profit and trailing stop end trades."""
    return _stored(BacktestRequest(strategy="ema_trend", symbols=("SPY",), start=START, end=END))


def test_hover_of_every_trade_equals_its_record(ema_run) -> None:
    data = load_market_data(["SPY"], START, END)
    fig = price_view.price_chart(ema_run, data, "SPY")
    trades = ema_run.result.trades.sort_values("entry_time").reset_index(drop=True)
    reasons = set(trades["exit_reason"])
    assert {"stop_loss", "take_profit"} & reasons and "signal" in reasons  # stops really ended trades
    words = {"signal": "signal", "stop_loss": "stop", "take_profit": "target", "trailing_stop": "trailing stop"}
    entry = next(t for t in fig.data if t.name == "Entry")
    exit_ = next(t for t in fig.data if t.name == "Exit")
    assert len(entry.customdata) == len(trades)
    closed = trades[trades["exit_reason"] != "open"].reset_index(drop=True)
    assert len(exit_.customdata) == len(closed)
    for marker, rows in ((entry, trades), (exit_, closed)):
        for hover, (_, t) in zip(marker.customdata, rows.iterrows()):
            side, entered, entry_px, exited, exit_px, pnl, ret, held, reason, word = hover
            record = (t["side"], t["entry_price"], t["exit_price"], t["pnl"], t["return"], t["bars_held"])
            assert (side, entry_px, exit_px, pnl, ret, held, reason) == (*record, t["exit_reason"])
            assert (entered, exited) == (f"{t['entry_time']:%Y-%m-%d}", f"{t['exit_time']:%Y-%m-%d}")
            assert word == words.get(t["exit_reason"], "still open")
            # bars held counts the bars from entry to exit in the data
            assert held == data.index.get_loc(t["exit_time"]) - data.index.get_loc(t["entry_time"])
    for part in ("entry", "exit", "P&L", "bars held"):
        assert part in entry.hovertemplate and part in exit_.hovertemplate


def test_a_strategys_own_stops_are_drawn_per_trade_at_its_signal_bar(ema_run) -> None:
    data = load_market_data(["SPY"], START, END)
    fig = price_view.price_chart(ema_run, data, "SPY")
    trades = ema_run.result.trades.sort_values("entry_time").reset_index(drop=True)
    p = ema_run.result.params
    # by hand: ATR(14) / close at the bar before each entry (fills at the next open), times the multiplier
    atr = ta.atr(data.high["SPY"], data.low["SPY"], data.close["SPY"], length=p["atr_length"], talib=False)
    frac = (atr / data.close["SPY"]).to_numpy()
    rows = data.index.get_indexer(trades["entry_time"]) - 1
    stop = next(t for t in fig.data if t.name == "stop loss")
    levels = [y for y in stop.y if y is not None][::2]
    expected = trades["entry_price"].to_numpy() * (1 - p["sl_atr"] * frac[rows])
    np.testing.assert_allclose(levels, expected, rtol=1e-12)
    target = next(t for t in fig.data if t.name == "take profit")
    np.testing.assert_allclose(
        [y for y in target.y if y is not None][::2], trades["entry_price"] * (1 + p["tp_atr"] * frac[rows]), rtol=1e-12
    )
    assert any(t.name == "trailing stop" for t in fig.data)
    # a stop-loss exit happened at (or through a gap below) its drawn level
    for t, level in zip(trades.itertuples(index=False), expected):
        if t.exit_reason == "stop_loss":
            assert t.exit_price <= level * (1 + 1e-12)


def test_strategy_lines_drawn_over_the_candles_and_oscillators_in_their_own_panel(home) -> None:
    run = _stored(
        BacktestRequest(strategy="bollinger_rsi", symbols=("SPY",), start=START, end=END, params={"bb_length": 20})
    )
    data = load_market_data(["SPY"], START, END)
    fig = price_view.price_chart(run, data, "SPY")
    by_name = {t.name: t for t in fig.data}
    close = data.close["SPY"]
    bands = ta.bbands(close, length=20, lower_std=2.0, upper_std=2.0, talib=False)
    for col, name in enumerate(("BB lower", "BB middle", "BB upper")):
        np.testing.assert_allclose(by_name[name].y, bands.iloc[:, col].to_numpy(), rtol=1e-12, equal_nan=True)
        assert by_name[name].yaxis == "y"  # on the candles' axis
    rsi = ta.rsi(close, length=14, talib=False).to_numpy(copy=True)
    rsi[:14] = np.nan
    np.testing.assert_allclose(by_name["RSI 14"].y, rsi, rtol=1e-12, equal_nan=True)
    assert by_name["RSI 14"].yaxis == by_name["enter below 30"].yaxis == "y2"  # one RSI panel below
    assert fig.layout.yaxis2.title.text == "RSI" and by_name["volume"].yaxis == "y3"


def test_chart_builders_take_the_dark_or_light_template() -> None:
    idx = pd.bdate_range("2021-01-01", periods=30)
    close = pd.Series(100 + np.arange(30.0), index=idx)
    bars = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1e6})
    dark = charts_price.price_figure(bars, "AAA", theme="dark")
    light = charts_price.price_figure(bars, "AAA", theme="light")
    assert dark.layout.template == pio.templates["plotly_dark"]
    assert light.layout.template == pio.templates["plotly_white"]
    assert dark.layout.paper_bgcolor == "rgba(0,0,0,0)"  # the page's own background shows through
    buttons = dark.layout.xaxis.rangeselector  # readable range buttons: light text on a dark button
    assert buttons.font.color == "#f3f4f6" and buttons.bgcolor == "#374151" and buttons.buttons
    equity = themed(charts.equity_figure(close * 1000), "dark")
    assert equity.layout.template == pio.templates["plotly_dark"]
    with pytest.raises(ValueError, match="'blue'"):
        themed(dark, "blue")


@pytest.mark.parametrize("kind, template", [("dark", "plotly_dark"), ("light", "plotly_white"), (None, None)])
def test_charts_follow_streamlits_theme_type(monkeypatch, kind, template) -> None:
    drawn = {}
    monkeypatch.setattr(figure_theme.st, "context", SimpleNamespace(theme=SimpleNamespace(type=kind)))
    monkeypatch.setattr(figure_theme.st, "plotly_chart", lambda fig, **kw: drawn.update(fig=fig, **kw))
    figure_theme.plotly_chart(charts.equity_figure(pd.Series([1.0, 2.0, 3.0])), "k", {})
    if template is None:  # not known yet: Streamlit's own chart theme, which follows the page too
        assert (
            "theme" not in drawn
            and drawn["fig"].layout.template == charts.equity_figure(pd.Series([1.0])).layout.template
        )
    else:
        assert drawn["theme"] is None and drawn["fig"].layout.template == pio.templates[template]

"""Chart builders and display analytics, checked against independent plain-Python calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ui import analytics, charts, charts_price


@pytest.fixture
def equity() -> pd.Series:
    rng = np.random.default_rng(7)
    idx = pd.bdate_range("2020-01-01", periods=600)
    r = rng.normal(0.0004, 0.012, len(idx))
    return pd.Series(100_000 * np.cumprod(1 + r), index=idx, name="equity")


@pytest.fixture
def bars() -> pd.DataFrame:
    idx = pd.bdate_range("2021-01-01", periods=60)
    close = 100 + np.arange(60, dtype=float)
    return pd.DataFrame(
        {"open": close - 0.5, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(60, 1e6)},
        index=idx,
    )


@pytest.fixture
def trades(bars: pd.DataFrame) -> pd.DataFrame:
    idx = bars.index
    rows = [
        ("AAA", "long", idx[5], 104.5, idx[12], 111.5, 10.0, 70.0, 0.067, 7, "signal"),
        ("AAA", "short", idx[20], 119.5, idx[30], 129.5, -5.0, -50.0, -0.084, 10, "stop_loss"),
        ("AAA", "long", idx[50], 149.5, idx[59], 159.0, 3.0, 28.5, 0.064, 9, "open"),
    ]
    cols = [
        "symbol",
        "side",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "quantity",
        "pnl",
        "return",
        "bars_held",
        "exit_reason",
    ]
    return pd.DataFrame(rows, columns=cols)


def test_drawdown_matches_loop(equity: pd.Series) -> None:
    peak, worst, dd_loop = -math.inf, 0.0, []
    for v in equity:
        peak = max(peak, v)
        dd_loop.append(v / peak - 1)
        worst = min(worst, v / peak - 1)
    dd = analytics.drawdown(equity)
    assert np.allclose(dd.to_numpy(), dd_loop)
    fig = charts.drawdown_figure(equity)
    assert len(fig.data) == 1
    assert min(fig.data[0].y) == pytest.approx(worst)
    assert worst < -0.05  # the fixture really has a drawdown


def test_equity_figure_traces_log_and_slider(equity: pd.Series) -> None:
    bench = equity * 0.9
    fig = charts.equity_figure(equity, bench, log=True)
    assert [t.name for t in fig.data] == ["Strategy", "Benchmark"]
    assert list(fig.data[0].y) == pytest.approx(list(equity))
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis.rangeslider.visible is True
    assert charts.equity_figure(equity).layout.yaxis.type == "linear"
    assert len(charts.equity_figure(equity).data) == 1


def test_price_markers_at_trade_times(bars: pd.DataFrame, trades: pd.DataFrame) -> None:
    fig = charts_price.price_figure(bars, "AAA", trades, stops={"stop_loss": 0.05, "take_profit": None})
    kinds = [type(t).__name__ for t in fig.data]
    assert kinds == ["Candlestick", "Scatter", "Scatter", "Scatter", "Bar"]
    entry = next(t for t in fig.data if t.name == "Entry")
    exit_ = next(t for t in fig.data if t.name == "Exit")
    assert [pd.Timestamp(x) for x in entry.x] == list(trades["entry_time"])
    assert list(entry.y) == [104.5, 119.5, 149.5]
    assert list(entry.marker.symbol) == ["triangle-up", "triangle-down", "triangle-up"]
    # the open trade has no exit marker
    assert [pd.Timestamp(x) for x in exit_.x] == list(trades["exit_time"][:2])
    assert list(exit_.y) == [111.5, 129.5]
    stop = next(t for t in fig.data if t.name == "stop loss")
    levels = [y for y in stop.y if y is not None]
    # long: 5% under entry, short: 5% above entry
    assert levels[:2] == pytest.approx([104.5 * 0.95] * 2)
    assert levels[2:4] == pytest.approx([119.5 * 1.05] * 2)
    assert len(charts_price.price_figure(bars, "AAA", None, volume=False).data) == 1


def test_monthly_and_yearly_returns_match_hand_compounding() -> None:
    idx = pd.to_datetime(["2021-01-04", "2021-01-05", "2021-02-01", "2022-03-01", "2022-03-02"])
    r = pd.Series([0.10, -0.05, 0.02, 0.01, 0.01], index=idx)
    table = analytics.monthly_returns(r)
    assert table.loc[2021, 1] == pytest.approx(1.10 * 0.95 - 1)
    assert table.loc[2021, 2] == pytest.approx(0.02)
    assert table.loc[2022, 3] == pytest.approx(1.01 * 1.01 - 1)
    assert np.isnan(table.loc[2021, 3])
    years = analytics.yearly_returns(r)
    assert years[2021] == pytest.approx(1.10 * 0.95 * 1.02 - 1)
    fig = charts.monthly_heatmap_figure(r)
    assert list(fig.data[0].y) == ["2021", "2022"]
    assert fig.data[0].z[0][0] == pytest.approx(1.10 * 0.95 - 1)
    yfig = charts.yearly_returns_figure(r, r * 0.5)
    assert [t.name for t in yfig.data] == ["Strategy", "Benchmark"]
    assert list(yfig.data[0].y) == pytest.approx([years[2021], years[2022]])


def test_rolling_statistics_match_loop(equity: pd.Series) -> None:
    r = analytics.to_returns(equity)
    window = 20
    sh = analytics.rolling_sharpe(r, window)
    vol = analytics.rolling_volatility(r, window)
    chunk = list(r.iloc[100 - window + 1 : 101])
    mean = sum(chunk) / window
    sd = math.sqrt(sum((x - mean) ** 2 for x in chunk) / (window - 1))
    assert sh.iloc[100] == pytest.approx(mean / sd * math.sqrt(252))
    assert vol.iloc[100] == pytest.approx(sd * math.sqrt(252))
    assert np.isnan(sh.iloc[window - 2])
    fig = charts.rolling_figure(r, window, benchmark_returns=r * 0.5)
    assert len(fig.data) == 4


def test_exposure_and_weights_figure() -> None:
    idx = pd.bdate_range("2022-01-03", periods=3)
    w = pd.DataFrame({"A": [0.5, 0.6, np.nan], "B": [-0.2, 0.4, 0.1]}, index=idx)
    ex = analytics.exposure(w)
    assert list(ex["gross"]) == pytest.approx([0.7, 1.0, 0.1])
    assert list(ex["net"]) == pytest.approx([0.3, 1.0, 0.1])
    assert list(ex["short"]) == pytest.approx([-0.2, 0.0, 0.0])
    fig = charts.weights_figure(w)
    assert [t.name for t in fig.data] == ["A", "B", "gross exposure"]


def test_contribution_is_exact_accounting() -> None:
    idx = pd.bdate_range("2022-01-03", periods=3)
    fills = pd.DataFrame(
        {
            "time": [idx[0], idx[0], idx[1]],
            "symbol": ["A", "B", "A"],
            "quantity": [10.0, 5.0, -4.0],
            "price": [100.0, 50.0, 110.0],
            "commission": [1.0, 0.5, 0.44],
            "reason": ["signal"] * 3,
        }
    )
    positions = pd.DataFrame({"A": [10.0, 6.0, 6.0], "B": [5.0, 5.0, 5.0]}, index=idx)
    last = pd.Series({"A": 120.0, "B": 40.0})
    c = analytics.symbol_contribution(fills, positions, last)
    # A: -1000 - 1 + 440 - 0.44 + 6 * 120 ; B: -250 - 0.5 + 5 * 40
    assert c["A"] == pytest.approx(-1000 - 1 + 440 - 0.44 + 720)
    assert c["B"] == pytest.approx(-250 - 0.5 + 200)
    fig = charts.contribution_figure(c)
    assert list(fig.data[0].y) == ["B", "A"]  # ascending for a horizontal bar chart


def test_correlation_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2022-01-03", periods=50)
    close = pd.DataFrame(100 + rng.normal(0, 1, (50, 3)).cumsum(axis=0), index=idx, columns=["A", "B", "C"])
    corr = analytics.return_correlation(close)
    ra, rb = np.diff(close["A"]) / close["A"].to_numpy()[:-1], np.diff(close["B"]) / close["B"].to_numpy()[:-1]
    assert corr.loc["A", "B"] == pytest.approx(np.corrcoef(ra, rb)[0, 1])
    fig = charts.correlation_figure(corr)
    assert list(fig.data[0].x) == ["A", "B", "C"]
    assert fig.data[0].zmin == -1 and fig.data[0].zmax == 1


def test_compare_figures(equity: pd.Series) -> None:
    curves = {"run 1": equity, "run 2": equity * 2}
    fig = charts.compare_equity_figure(curves)
    assert len(fig.data) == 2
    assert fig.data[0].y[0] == pytest.approx(1.0) and fig.data[1].y[-1] == pytest.approx(fig.data[0].y[-1])
    assert fig.data[0].line.color != fig.data[1].line.color
    dd = charts.compare_drawdown_figure(curves)
    assert min(dd.data[0].y) == pytest.approx(analytics.drawdown(equity).min())


def test_figures_are_theme_neutral(equity: pd.Series) -> None:
    fig = charts.equity_figure(equity)
    assert isinstance(fig, go.Figure)
    assert fig.layout.paper_bgcolor == "rgba(0,0,0,0)"


def test_trailing_stop_levels_by_hand() -> None:
    idx = pd.bdate_range("2023-01-02", periods=7)
    high = [101.0, 104.0, 103.0, 110.0, 108.0, 107.0, 109.0]
    low = [99.0, 100.0, 98.0, 105.0, 96.0, 104.0, 101.0]
    bars = pd.DataFrame({"open": 100.0, "high": high, "low": low, "close": 100.0}, index=idx)
    # long from bar 1 (entry 102) to bar 5, trail 10%, entry filled at the open: the entry bar's high counts
    # for the next bars, never for the bar itself. Peaks in force: 102, 104, 104, 110, 110.
    long = charts_price.trailing_levels(bars, idx[1], idx[5], 102.0, 0.10, long=True)
    assert list(long.index) == list(idx[1:6])
    assert list(long) == pytest.approx([91.8, 93.6, 93.6, 99.0, 99.0])
    # filled at the close: the entry bar's high came before the fill, so bar 2 still trails from 102
    close_fill = charts_price.trailing_levels(bars, idx[1], idx[5], 102.0, 0.10, long=True, entry_bar_counts=False)
    assert list(close_fill) == pytest.approx([91.8, 91.8, 92.7, 99.0, 99.0])
    # short from bar 2 (entry 99) to bar 6, trail 5%: troughs in force 99, 98, 98, 96, 96
    short = charts_price.trailing_levels(bars, idx[2], idx[6], 99.0, 0.05, long=False)
    assert list(short) == pytest.approx([103.95, 102.9, 102.9, 100.8, 100.8])


def test_price_figure_draws_trailing_stop_per_trade(bars: pd.DataFrame, trades: pd.DataFrame) -> None:
    fig = charts_price.price_figure(bars, "AAA", trades, stops={"trailing_stop": 0.05})
    trail = next(t for t in fig.data if t.name == "trailing stop")
    assert trail.line.shape == "hv"
    xs, ys = list(trail.x), list(trail.y)
    # one run of levels per trade, separated by None, from the entry bar to the exit bar
    runs, current = [], []
    for x, y in zip(xs, ys):
        if x is None:
            runs.append(current)
            current = []
        else:
            current.append((pd.Timestamp(x), y))
    assert len(runs) == 3
    for run, t in zip(runs, trades.itertuples()):
        assert run[0][0] == t.entry_time and run[-1][0] == t.exit_time
        assert len(run) == len(bars.loc[t.entry_time : t.exit_time])
    # long trade 1: entry 104.5 at bar 5; bar k > 5 trails from high[k-1] = 100 + k
    first = [y for _, y in runs[0]]
    assert first == pytest.approx([104.5 * 0.95] + [(100 + k) * 0.95 for k in range(6, 13)])
    # short trade: entry 119.5 at bar 20; the entry bar's low (119) is the lowest point, in force from bar 21
    second = [y for _, y in runs[1]]
    assert second == pytest.approx([119.5 * 1.05] + [119 * 1.05] * 10)
    assert "trailing stop" not in [t.name for t in charts_price.price_figure(bars, "AAA", trades, {}).data]


@pytest.mark.parametrize("fill", ["next_open", "next_close"])
def test_trailing_levels_agree_with_the_engine(fill: str, home) -> None:
    from engine.config import BacktestConfig, Risk
    from engine.data import load_market_data
    from engine.request import BacktestRequest, run_request

    request = BacktestRequest(
        strategy="sma_cross",
        params={"fast": 10, "slow": 50},
        symbols=("SPY",),
        start="2012-01-01",
        end="2019-12-31",
        config=BacktestConfig(fill=fill, risk=Risk(trailing_stop=0.04)),
    )
    trades = run_request(request).trades
    data = load_market_data(["SPY"], "2012-01-01", "2019-12-31")
    bars = pd.DataFrame({f: data.field(f)["SPY"] for f in ("open", "high", "low", "close")})
    stopped = trades[trades["exit_reason"] == "trailing_stop"]
    assert len(stopped) >= 3
    for t in trades.itertuples():
        level = charts_price.trailing_levels(
            bars, t.entry_time, t.exit_time, t.entry_price, 0.04, entry_bar_counts=fill == "next_open"
        )
        lows = bars["low"].loc[t.entry_time : t.exit_time]
        checked = lows.iloc[1:-1] if fill == "next_close" else lows.iloc[:-1]
        # not touched before the exit bar (for a close fill the entry bar is not checked)
        assert (checked > level.loc[checked.index]).all()
        if t.exit_reason == "trailing_stop":
            open_ = bars["open"].loc[t.exit_time]
            assert t.exit_price == pytest.approx(min(level.iloc[-1], open_), rel=1e-12)


def test_legend_and_range_buttons_stay_clear_of_title_and_mode_bar(
    equity: pd.Series, bars: pd.DataFrame, trades: pd.DataFrame
) -> None:
    figures = {
        "equity": charts.equity_figure(equity, equity * 0.9),
        "price": charts_price.price_figure(bars, "AAA", trades, {"stop_loss": 0.05, "trailing_stop": 0.05}),
        "drawdown": charts.drawdown_figure(equity, equity * 0.9),
        "compare": charts.compare_equity_figure({"a": equity, "b": equity * 2}),
    }
    for name, fig in figures.items():
        lay = fig.layout
        # two rows above the plot: title (left) beside the mode bar (right), then buttons/legend
        assert lay.margin.t >= charts.TITLE_ROW + charts.CONTROL_ROW, name
        assert (lay.title.yref, lay.title.y, lay.title.yanchor, lay.title.xanchor) == ("container", 1, "top", "left")
        if name == "compare":  # one entry per run: a vertical legend right of the plot
            assert (lay.legend.orientation, lay.legend.x, lay.legend.xanchor) == ("v", 1.01, "left")
        else:  # the legend sits just above the plot, on the right, below the mode bar's row
            assert (lay.legend.orientation, lay.legend.yanchor, lay.legend.xanchor) == ("h", "bottom", "right")
            assert 1 <= lay.legend.y <= 1.05
    for name in ("equity", "price", "compare"):
        selector = figures[name].layout.xaxis.rangeselector
        assert (selector.x, selector.xanchor, selector.yanchor) == (0, "left", "bottom") and selector.y >= 1, name

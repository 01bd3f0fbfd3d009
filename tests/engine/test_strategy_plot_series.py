"""`Strategy.plot_series`: every built-in's chart lines equal pandas-ta called directly on each symbol's own bars.

Two symbols on different calendars (SPY trades weekdays, BTC-USD every day): a line is computed on the
symbol's own bars and is NaN on rows where the symbol has no bar (the momentum and volatility panels hold
the last value over such rows, as the strategies rank them). Every line is causal: computed on the first
half of the data it equals the first half of the line computed on all of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas_ta as ta
import pytest

from engine.data.market import MarketData
from engine.strategies.base import PRICE_PANEL, PlotSeries, Strategy
from engine.strategies.registry import BUILTINS, create_strategy
from tests.engine.test_strategies_common import market, read_csv

SYMBOLS = ("SPY", "BTC-USD")


@pytest.fixture(scope="module")
def data() -> MarketData:
    return market(*SYMBOLS)


def _own(series: pd.Series | None, index: pd.Index) -> np.ndarray:
    """A pandas-ta result on a symbol's own bars (None = too short: all NaN)."""
    return np.full(len(index), np.nan) if series is None else series.to_numpy(dtype="float64", copy=True)


def _rsi(close: pd.Series, length: int) -> np.ndarray:
    values = _own(ta.rsi(close, length=length, talib=False), close.index)
    values[:length] = np.nan  # the strategy counts RSI as defined after `length` price changes
    return values


def _expected(name: str, strategy: Strategy, own: pd.DataFrame) -> dict[str, tuple[str, np.ndarray]]:
    """label -> (panel, values on the symbol's own bars), straight from pandas-ta with the strategy's params."""
    p = strategy.params
    c, h, lo = own["close"], own["high"], own["low"]
    n = len(c)
    if name in ("sma_cross", "ema_cross"):
        ma = getattr(ta, name[:3])
        label = name[:3].upper()
        return {f"{label} {w}": ("price", _own(ma(c, length=w, talib=False), c.index)) for w in (p.fast, p.slow)}
    if name == "ema_trend":
        return {f"EMA {p.length}": ("price", _own(ta.ema(c, length=p.length, talib=False), c.index))}
    if name == "macd":
        m = ta.macd(c, fast=p.fast, slow=p.slow, signal=p.signal, talib=False)
        return {"MACD": ("MACD", m.iloc[:, 0].to_numpy()), "signal": ("MACD", m.iloc[:, 2].to_numpy())}
    if name == "rsi_reversion":
        return {
            f"RSI {p.length}": ("RSI", _rsi(c, p.length)),
            f"enter below {p.lower:g}": ("RSI", np.full(n, p.lower)),
            f"exit above {p.exit_level:g}": ("RSI", np.full(n, p.exit_level)),
        }
    if name == "bollinger_rsi":
        bb = ta.bbands(c, length=p.bb_length, lower_std=p.bb_std, upper_std=p.bb_std, talib=False)
        out = {f"BB {k}": ("price", bb.iloc[:, i].to_numpy()) for i, k in enumerate(("lower", "middle", "upper"))}
        out[f"RSI {p.rsi_length}"] = ("RSI", _rsi(c, p.rsi_length))
        out[f"enter below {p.rsi_lower:g}"] = ("RSI", np.full(n, p.rsi_lower))
        return out
    if name == "donchian_breakout":
        entry, exit_ = {20: (20, 10), 55: (55, 20)}[p.system]
        high = ta.donchian(h, lo, lower_length=exit_, upper_length=entry).iloc[:, 2].shift(1)
        low = ta.donchian(h, lo, lower_length=exit_, upper_length=entry).iloc[:, 0].shift(1)
        return {
            f"{entry}-bar high (entry)": ("price", high.to_numpy()),
            f"{exit_}-bar low (exit)": ("price", low.to_numpy()),
        }
    if name == "momentum_rotation":
        roc = ta.roc(c, length=p.lookback, talib=False).shift(p.skip) / 100.0
        return {f"return {p.lookback} bars": ("momentum", roc.to_numpy())}
    if name == "inverse_vol":
        vol = ta.stdev(ta.percent_return(c), length=p.lookback, talib=False)
        return {f"volatility {p.lookback}": ("volatility", vol.to_numpy())}
    assert name == "buy_and_hold", name
    return {}


HELD = {"momentum", "volatility"}  # panels the strategy reads held over rows without a bar
OWN_TESTS = ("momentum_voltarget", "pairs", "dca", "regime_router", "portfolio_opt")  # held to hand calculations there


@pytest.mark.parametrize("name", [n for n in BUILTINS if n not in OWN_TESTS])
def test_plot_series_equal_pandas_ta_on_each_symbols_own_bars(name: str, data: MarketData) -> None:
    strategy = create_strategy(name)
    lines = strategy.plot_series(data)
    for sym in SYMBOLS:
        own = read_csv(sym)
        expected = _expected(name, strategy, own)
        assert list(lines) == list(expected), (name, list(lines))
        for label, (panel, values) in expected.items():
            line = lines[label]
            assert isinstance(line, PlotSeries) and line.panel == panel, (name, label, line.panel)
            assert list(line.values.columns) == list(data.symbols) and line.values.index.equals(data.index)
            got = line.values[sym]
            np.testing.assert_allclose(got.loc[own.index].to_numpy(), values, rtol=1e-9, atol=1e-12, err_msg=label)
            off = got.drop(own.index)
            if panel in HELD:
                want = pd.Series(values, index=own.index).reindex(data.index).ffill().drop(own.index)
                np.testing.assert_allclose(off.to_numpy(), want.to_numpy(), rtol=1e-9, err_msg=label)
            else:
                assert off.isna().all(), (name, label)  # nothing drawn where the symbol has no bar
    assert name == "buy_and_hold" or any(line.values.notna().any().all() for line in lines.values())


@pytest.mark.parametrize("name", [n for n in BUILTINS if n != "buy_and_hold"])
def test_plot_series_never_read_a_later_bar(name: str, data: MarketData) -> None:
    half = data.index[len(data.index) // 2]
    early = MarketData.from_frames({s: read_csv(s).loc[:half] for s in SYMBOLS})
    full, part = create_strategy(name).plot_series(data), create_strategy(name).plot_series(early)
    for label, line in part.items():
        pd.testing.assert_frame_equal(line.values, full[label].values.loc[early.index], rtol=1e-9, obj=label)


def test_default_is_no_line_and_price_panel_is_the_default_panel(data: MarketData) -> None:
    class Flat(Strategy):
        name = "flat"

        class Params:
            pass

        def target_weights(self, data: MarketData) -> pd.DataFrame:
            return data.close * 0.0

    assert Flat(Flat.Params()).plot_series(data) == {}
    assert PlotSeries(data.close).panel == PRICE_PANEL == "price"

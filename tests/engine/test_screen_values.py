"""The screener's columns equal pandas-ta / numpy / empyrical called directly on the same bars cut at the as-of
date; filters keep what a hand check keeps; sort direction and top N; today's signal equals the simulator's last
weights; a bad column or top is one ConfigError."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from engine.data import load_market_data
from engine.errors import ConfigError
from engine.research.screen import ScreenSpec, run_screen
from engine.sim.simulate import run_backtest
from engine.strategies.common import ta  # pandas-ta itself, imported without its import-time warnings
from engine.strategies.registry import create_strategy

SYMBOLS = ["SPY", "QQQ", "TLT", "GLD", "XLE", "XLK"]
ASOF = "2019-09-30"


@pytest.fixture(scope="module")
def closes() -> pd.DataFrame:
    close = load_market_data(SYMBOLS).close
    return close.loc[:ASOF]


def _screen(**kw) -> pd.DataFrame:
    spec = ScreenSpec(symbols=SYMBOLS, asof=ASOF, **{"rank": "momentum_63", **kw})
    return run_screen(spec).table


def test_indicator_columns_equal_the_libraries_on_the_cut_data(closes) -> None:
    table = _screen(columns=("rsi_14", "sma_dist_50", "vol_21", "close"))
    assert len(table) == len(SYMBOLS)
    for sym in SYMBOLS:
        c = closes[sym].dropna()
        assert c.index[-1] == pd.Timestamp(ASOF)
        assert table.loc[sym, "close"] == c.iloc[-1]
        assert table.loc[sym, "momentum_63"] == pytest.approx(c.iloc[-1] / c.iloc[-64] - 1, rel=1e-12)
        assert table.loc[sym, "rsi_14"] == pytest.approx(ta.rsi(c, length=14).iloc[-1], rel=1e-12)
        assert table.loc[sym, "sma_dist_50"] == pytest.approx(c.iloc[-1] / c.iloc[-50:].mean() - 1, rel=1e-10)
        r = c.to_numpy()[-22:]
        simple = r[1:] / r[:-1] - 1
        assert table.loc[sym, "vol_21"] == pytest.approx(np.std(simple, ddof=1) * math.sqrt(252), rel=1e-10)


def test_metric_columns_equal_empyrical_over_the_lookback(closes) -> None:
    table = _screen(columns=("sharpe_126", "max_drawdown", "beta_126"), lookback=252)
    bench = closes.pct_change(fill_method=None).mean(axis=1)  # the equal weight of the universe
    for sym in SYMBOLS:
        c = closes[sym].dropna()
        r126 = c.pct_change().iloc[-126:]
        assert table.loc[sym, "sharpe_126"] == pytest.approx(empyrical.sharpe_ratio(r126), rel=1e-9)
        r252 = c.pct_change().iloc[-252:]
        assert table.loc[sym, "max_drawdown"] == pytest.approx(empyrical.max_drawdown(r252), rel=1e-9)
        assert table.loc[sym, "beta_126"] == pytest.approx(empyrical.beta(r126, bench.loc[r126.index]), rel=1e-9)


def test_rank_is_sorted_best_first_and_top_n_keeps_the_best(closes) -> None:
    mom = {s: closes[s].iloc[-1] / closes[s].iloc[-64] - 1 for s in SYMBOLS}
    best = sorted(SYMBOLS, key=lambda s: -mom[s])
    table = _screen(top=3)
    assert list(table.index) == best[:3]
    assert list(table["rank"]) == [1, 2, 3]
    assert list(_screen(ascending=True).index) == best[::-1]
    # a lower-is-better metric ranks lowest first by default
    vol = _screen(rank="annual_volatility")
    assert list(vol["annual_volatility"]) == sorted(vol["annual_volatility"])


def test_filters_keep_what_a_hand_check_keeps(closes) -> None:
    rsi = {s: ta.rsi(closes[s].dropna(), length=14).iloc[-1] for s in SYMBOLS}
    mom = {s: closes[s].iloc[-1] / closes[s].iloc[-64] - 1 for s in SYMBOLS}
    table = _screen(filters=("rsi_14 < 55", "momentum_63>0"))
    expected = {s for s in SYMBOLS if rsi[s] < 55 and mom[s] > 0}
    assert set(table.index) == expected
    assert 0 < len(expected) < len(SYMBOLS)  # the filter does cut
    assert set(_screen(filters=("momentum_63 >= 5%",)).index) == {s for s in SYMBOLS if mom[s] >= 0.05}


def test_signal_column_is_the_simulators_last_weights(closes) -> None:
    table = _screen(columns=("signal:sma_cross",))
    data = load_market_data(SYMBOLS, None, ASOF)
    weights = run_backtest(data, create_strategy("sma_cross", {})).weights.iloc[-1]
    for sym in SYMBOLS:
        assert table.loc[sym, "signal:sma_cross"] == pytest.approx(float(weights[sym]), abs=1e-15)
    assert (table["signal:sma_cross"] != 0).any()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"rank": "nope_3"}, "column 'nope_3' is unknown"),
        ({"top": 0}, "top 0 must be a whole number >= 1"),
        ({"filters": ("rsi_14 <",)}, "filter 'rsi_14 <' is not COLUMN OP VALUE"),
        ({"rank": "n_trades"}, "column 'n_trades' is unknown"),  # a trade metric means nothing for a symbol
    ],
)
def test_bad_input_is_one_config_error(kw, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        run_screen(ScreenSpec(symbols=SYMBOLS, **{"rank": "rsi_14", **kw}))


def test_preset_column_runs_the_presets_strategy_params_and_config(presets) -> None:
    from engine.config import BacktestConfig
    from engine.request import BacktestRequest
    from engine.store.presets import Preset, save_preset

    config = BacktestConfig.from_dict({"risk": {"max_position": 0.1}})
    request = BacktestRequest(strategy="sma_cross", params={"fast": 5, "slow": 30}, symbols=("SPY",), config=config)
    save_preset(Preset.from_request("fast_cross", request))
    table = _screen(columns=("preset:fast_cross",))
    data = load_market_data(SYMBOLS, None, ASOF)
    weights = run_backtest(data, create_strategy("sma_cross", {"fast": 5, "slow": 30}), config).weights.iloc[-1]
    for sym in SYMBOLS:
        assert table.loc[sym, "preset:fast_cross"] == pytest.approx(float(weights[sym]), abs=1e-15)
    assert 0 < table["preset:fast_cross"].abs().max() <= 0.1 + 1e-12  # the preset's cap applied


def test_a_benchmark_symbol_outside_the_universe(closes) -> None:
    spec = ScreenSpec(symbols=["QQQ", "TLT"], rank="beta_126", benchmark="SPY", asof=ASOF)
    table = run_screen(spec).table
    spy = closes["SPY"].pct_change().iloc[-126:]
    for sym in ("QQQ", "TLT"):
        r = closes[sym].pct_change().iloc[-126:]
        assert table.loc[sym, "beta_126"] == pytest.approx(empyrical.beta(r, spy), rel=1e-9)

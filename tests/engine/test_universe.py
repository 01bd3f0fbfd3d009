"""Universe selection ranks symbols exactly as individual in-sample backtests do; the kept list feeds presets."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.request import BacktestRequest
from engine.research.universe import select_universe
from engine.sim.simulate import run_backtest
from engine.store.presets import Preset, load_preset, save_preset
from engine.strategies.registry import create_strategy

SYMBOLS = ("SPY", "QQQ", "TLT", "GLD", "XLE", "AAPL", "KO")


pytestmark = pytest.mark.usefixtures("presets")


@pytest.fixture
def request_():
    return BacktestRequest(
        strategy="ema_cross",
        params={"fast": 12, "slow": 26},
        symbols=SYMBOLS,
        start="2012-01-01",
        end="2018-12-31",
        config=BacktestConfig(costs=Costs(commission_bps=3)),
    )


def individual(request: BacktestRequest, metric: str) -> dict[str, float]:
    out = {}
    for symbol in request.symbols:
        data = load_market_data([symbol], request.start, request.end)
        assert data.index[-1] <= pd.Timestamp(request.end)  # in-sample only
        out[symbol] = run_backtest(data, create_strategy(request.strategy, request.params), request.config).metrics[
            metric
        ]
    return out


def test_ranking_equals_ranking_by_individual_backtests(request_):
    res = select_universe(request_, metric="sharpe", top_n=3)
    expected = individual(request_, "sharpe")
    order = sorted(expected, key=lambda s: -expected[s])
    assert list(res.ranking["symbol"]) == order
    for symbol, value in zip(res.ranking["symbol"], res.ranking["sharpe"]):
        assert value == pytest.approx(expected[symbol], rel=1e-12)
    assert res.kept == order[:3]
    assert list(res.ranking.index) == list(range(1, len(SYMBOLS) + 1))
    assert res.ranking["kept"].tolist() == [True] * 3 + [False] * (len(SYMBOLS) - 3)


def test_threshold_and_both_rules(request_):
    expected = individual(request_, "cagr")
    res = select_universe(request_, metric="cagr", threshold=0.05)
    assert sorted(res.kept) == sorted(s for s, v in expected.items() if v >= 0.05)
    both = select_universe(request_, metric="cagr", threshold=0.05, top_n=2)
    assert both.kept == sorted(res.kept, key=lambda s: -expected[s])[:2]
    low_vol = select_universe(request_, metric="annual_volatility", top_n=2, higher_is_better=False)
    vol = individual(request_, "annual_volatility")
    assert low_vol.kept == sorted(vol, key=vol.get)[:2]


def test_kept_list_is_saved_in_the_preset_and_used(request_):
    res = select_universe(request_, top_n=2)
    preset = res.apply_to(Preset.from_request("uni_test", request_))
    save_preset(preset)
    loaded = load_preset("uni_test")
    assert list(loaded.universe) == res.kept
    assert loaded.to_request().symbols == tuple(res.kept)
    assert loaded.to_request(use_universe=False).symbols == SYMBOLS


def test_bad_arguments(request_):
    with pytest.raises(ConfigError, match="metric"):
        select_universe(request_, metric="alpha_beta")
    with pytest.raises(ConfigError, match="top_n"):
        select_universe(request_, top_n=0)
    with pytest.raises(ConfigError, match="kept no symbol"):
        select_universe(request_, threshold=math.inf).apply_to(Preset.from_request("x", request_))


def test_progress_per_symbol_and_cancel(request_):
    seen = []
    res = select_universe(
        request_, metric="sharpe", top_n=3, progress=lambda d, n: seen.append((d, n)), should_stop=lambda: False
    )
    assert seen == [(i, len(SYMBOLS)) for i in range(1, len(SYMBOLS) + 1)]
    assert res.kept == select_universe(request_, metric="sharpe", top_n=3).kept
    done = []
    with pytest.raises(ConfigError, match="cancelled"):
        select_universe(request_, progress=lambda d, n: done.append(d), should_stop=lambda: len(done) >= 2)
    assert done == [1, 2]  # the third symbol was never backtested

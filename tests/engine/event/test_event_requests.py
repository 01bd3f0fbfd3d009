"""Event mode through the one entry point (engine.request), the CLI and the run store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.request import BacktestRequest, run_request
from engine.sim.event.run import run_event_backtest
from engine.store.runs import RunStore
from engine.strategies.event_systems import SmaCrossEvent


def test_an_event_strategy_selects_event_mode_and_a_weights_strategy_can_ask_for_it(home: Path) -> None:
    own = run_request(BacktestRequest(strategy="sma_cross_event", symbols=("SPY",)))
    asked = run_request(BacktestRequest(strategy="sma_cross", symbols=("SPY",), mode="event"))
    vectorized = run_request(BacktestRequest(strategy="sma_cross", symbols=("SPY",)))
    assert own.orders is not None and asked.orders is not None and vectorized.orders is None
    expected = run_event_backtest(load_market_data(["SPY"]), SmaCrossEvent(), BacktestConfig())
    for result in (own, asked, vectorized):
        np.testing.assert_allclose(result.equity.to_numpy(), expected.equity.to_numpy(), rtol=1e-9)


def test_latency_reaches_the_simulator_and_bad_combinations_are_refused(home: Path) -> None:
    late = run_request(BacktestRequest(strategy="sma_cross_event", symbols=("SPY",), execution={"latency_bars": 2}))
    fills = late.fills
    placed = late.orders[late.orders.event == "placed"].time.reset_index(drop=True)
    index = load_market_data(["SPY"]).index
    gaps = [index.get_loc(f) - index.get_loc(p) for p, f in zip(placed, fills.time, strict=False)]
    assert set(gaps) == {3}  # decided at a close, 2 bars of latency, filled at the third open
    with pytest.raises(ConfigError, match="event strategy"):
        BacktestRequest(strategy="sma_cross_event", symbols=("SPY",), mode="vectorized")
    with pytest.raises(ConfigError, match="event mode only"):
        BacktestRequest(strategy="sma_cross", symbols=("SPY",), execution={"latency_bars": 1})


def test_cli_event_mode_and_a_stored_event_run_keeps_its_order_log(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["backtest", "--strategy", "ema_trend_event", "--symbols", "SPY", "--latency-bars", "1", "--save", "--json"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["request"]["execution"]["latency_bars"] == 1
    stored = RunStore().load(out["run_id"])
    assert stored.request.is_event
    orders = stored.result.orders
    assert set(orders.event) >= {"placed", "filled", "canceled"}
    assert set(orders.type) == {"market", "stop", "trailing_stop", "limit"}
    direct = run_request(stored.request)
    pd.testing.assert_frame_equal(
        orders.reset_index(drop=True), direct.orders.reset_index(drop=True), check_dtype=False
    )
    assert main(["backtest", "--strategy", "sma_cross_event", "--symbols", "SPY", "--mode", "vectorized"]) == 2
    assert "event strategy" in capsys.readouterr().err


def test_ivybt_strategies_lists_event_strategies_with_their_kind(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.strategies.registry import EVENT_BUILTINS

    assert main(["strategies", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)["strategies"]
    assert {name for name, info in listing.items() if info["kind"] == "event"} == set(EVENT_BUILTINS)
    assert listing["sma_cross"]["kind"] == "weights"
    assert [p["name"] for p in listing["sma_cross_event"]["params"]] == ["fast", "slow", "weight", "allow_short"]


def test_a_preset_keeps_mode_execution_and_timeframe(presets: Path) -> None:
    from engine.store.presets import Preset, load_preset, save_preset

    request = BacktestRequest(
        strategy="sma_cross", symbols=("BTC-PERP",), timeframe="15min", mode="event", execution={"latency_bars": 1}
    )
    save_preset(Preset.from_request("ev", request))
    assert load_preset("ev").to_request() == request
    plain = Preset.from_request("plain", BacktestRequest(strategy="sma_cross", symbols=("SPY",))).to_dict()
    assert not {"mode", "execution", "timeframe"} & set(plain)  # an older preset's file layout is unchanged


def test_a_bad_order_in_a_backtest_is_the_strategys_error_in_one_line(home: Path) -> None:
    from dataclasses import dataclass

    from engine.errors import StrategyError
    from engine.strategies.events import EventStrategy

    class Oversized(EventStrategy):
        name = "oversized"

        @dataclass(frozen=True)
        class Params:
            pass

        def on_bar(self, bar, ctx):
            ctx.buy(1, "limit", limit_price=-5.0)

    with pytest.raises(StrategyError, match=r"oversized at bar 0 .*limit_price: -5.0"):
        run_event_backtest(load_market_data(["SPY"]), Oversized(), BacktestConfig())

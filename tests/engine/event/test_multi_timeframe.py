"""A higher timeframe in an event strategy (`ctx.higher`) is visible only after its bar has closed: checked against
an independent pandas computation on BTC-PERP 1-minute bars, and by truncation (no value changes when the future
is cut off)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.sim.event.run import run_event_backtest
from engine.strategies.events import EventStrategy


class Recorder(EventStrategy):
    """Records, at every minute bar, the last closed hourly close and the 4-hour bars' 3-bar mean close."""

    name = "recorder"

    @dataclass(frozen=True)
    class Params:
        pass

    def on_start(self, ctx: Any) -> None:
        self.hour = ctx.higher("1h")
        self.mean4h = ctx.higher("4h", fn=lambda bars: bars["close"].rolling(3).mean())
        self.seen: list[tuple[float, float]] = []

    def on_bar(self, bar: Any, ctx: Any) -> None:
        self.seen.append((self.hour[0], self.mean4h[0]))


def recorded(data) -> np.ndarray:
    strategy = Recorder()
    run_event_backtest(data, strategy, BacktestConfig())
    return np.array(strategy.seen)


def test_the_last_closed_hour_is_what_a_minute_bar_sees(home: Path) -> None:
    data = load_market_data(["BTC-PERP"], start="2022-01-03", end="2022-01-05")
    seen = recorded(data)
    minute = data.close["BTC-PERP"]
    hourly = minute.resample("1h").last()  # labelled by the hour's open time
    complete = minute.resample("1h").count() == 60
    expected = []
    for t in minute.index:
        closed = (t + pd.Timedelta(minutes=1)).floor("1h") - pd.Timedelta(hours=1)  # the hour that ended by t's close
        ok = closed in hourly.index and closed >= minute.index[0] and complete.get(closed, False)
        expected.append(hourly[closed] if ok else np.nan)
    np.testing.assert_allclose(seen[:, 0], np.array(expected), rtol=0, equal_nan=True)
    assert np.isfinite(seen[:, 0]).sum() > 2000


@pytest.mark.parametrize("cut", [500, 1441, 2222, 2879])
def test_nothing_seen_changes_when_the_future_is_cut_off(home: Path, cut: int) -> None:
    data = load_market_data(["BTC-PERP"], start="2022-01-03", end="2022-01-05")
    full = recorded(data)
    short = recorded(load_market_data(["BTC-PERP"], start="2022-01-03", end=str(data.index[cut])))
    np.testing.assert_array_equal(short, full[: len(short)])

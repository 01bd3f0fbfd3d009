"""Bar feeds of the live loop: where closed bars come from and when to look again.

A feed has two methods: `current()`, every closed bar known now (the history included) as `MarketData`, and
`wait()`, which blocks until more bars may have closed and returns False when the feed is over. The loop
(brokers.live.loop) processes the bars of `current()` it has not processed yet, then waits.

- `ReplayFeed`: historical bars replayed one at a time (tests, `ivybt live --replay START..END`): bars before
  START are the history, each `wait()` reveals the next bar (after `pace` seconds), the feed ends after END.
- `PollingFeed`: a loader (the workspace data, or the broker's bar source imported into the workspace) called
  every `interval` seconds; only closed bars are kept (`closed_bars`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd

from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.sim.event.run import bar_seconds

MARKET_TZ = "America/New_York"
SESSION_CLOSE_HOUR = 16  # a daily bar of New York date D closes at 16:00 New York time on D
DAY_SECONDS = 86_400.0


class BarFeed(Protocol):
    def current(self) -> MarketData:
        """Every closed bar known now, history included."""
        ...

    def wait(self) -> bool:
        """Block until more bars may have closed; False when the feed is over."""
        ...


class ReplayFeed:
    """`data`'s bars from `start` to `end` revealed one per `wait()` (the bars before `start` are history).

    The price of the bar being processed is `last_close(symbol)`: a paper broker's price source in a replay.
    """

    def __init__(
        self,
        data: MarketData,
        start: object,
        end: object | None = None,
        pace: float = 0.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        idx = data.index
        first = int(idx.searchsorted(pd.Timestamp(start), side="left"))
        last = len(idx) - 1 if end is None else int(idx.searchsorted(pd.Timestamp(end), side="right")) - 1
        if first < 1:
            raise ConfigError(
                f"replay start {start}: at least one bar of history must come before it (data starts {idx[0]})"
            )
        if first > last:
            raise ConfigError(f"replay {start} .. {end}: no bars in that range (data covers {idx[0]} .. {idx[-1]})")
        self.data, self.pace, self.sleep = data, float(pace), sleep
        self.cursor, self.last = first - 1, last

    def current(self) -> MarketData:
        return self.data.head(self.cursor + 1)

    def resume(self, after: object) -> None:
        """Skip to the bar at `after` (a restart: the bars up to the last one processed are known at once)."""
        self.cursor = max(
            self.cursor, min(int(self.data.index.searchsorted(pd.Timestamp(after), side="right")) - 1, self.last)
        )

    def wait(self) -> bool:
        if self.cursor >= self.last:
            return False
        if self.pace > 0:
            self.sleep(self.pace)
        self.cursor += 1
        return True

    def last_close(self, symbol: str) -> float:
        """The close of `symbol` at the newest revealed bar it has (NaN-skipping)."""
        col = self.data.close[symbol].iloc[: self.cursor + 1].dropna()
        return float(col.iloc[-1]) if len(col) else float("nan")

    def bars(self, symbol: str) -> pd.DataFrame:
        """`symbol`'s revealed bars (open, high, low, close): a paper broker's bar source in a replay."""
        head = self.current()
        frame = pd.DataFrame({k: getattr(head, k)[symbol] for k in ("open", "high", "low", "close")})
        return frame.dropna(subset=["close"])


class PollingFeed:
    """Bars from `load()` every `interval` seconds, closed bars only; `stop` (an Event) ends it."""

    def __init__(
        self,
        load: Callable[[], MarketData],
        interval: float,
        stop: threading.Event | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if interval <= 0:
            raise ConfigError(f"live: poll interval {interval!r} must be > 0 seconds")
        self.load, self.interval, self.now = load, float(interval), now
        self.stop = stop or threading.Event()
        self._data = closed_bars(load(), now())

    def current(self) -> MarketData:
        return self._data

    def wait(self) -> bool:
        if self.stop.wait(self.interval):
            return False
        self._data = closed_bars(self.load(), self.now())
        return True


def closed_bars(data: MarketData, now: datetime) -> MarketData:
    """`data` without its last bar while that bar is still forming at `now`: a daily bar (New York session date)
    closes at 16:00 New York time; an intraday bar (labelled by its open time, UTC when naive) when its length
    has passed."""
    idx = data.index
    if len(idx) < 2 or not isinstance(idx, pd.DatetimeIndex):
        return data
    last = idx[-1]
    step = bar_seconds(idx)
    moment = pd.Timestamp(now)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    if step >= DAY_SECONDS * 0.9:
        close = pd.Timestamp(last.date()).tz_localize(MARKET_TZ) + pd.Timedelta(hours=SESSION_CLOSE_HOUR)
    else:
        opened = last.tz_localize("UTC") if last.tzinfo is None else last
        close = opened + pd.Timedelta(seconds=step)
    return data if moment >= close else data.head(len(idx) - 1)

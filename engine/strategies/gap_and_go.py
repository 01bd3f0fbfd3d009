"""Gap and Go (`gap_and_go`): an opening-range breakout on intraday bars, in the direction of the session's gap,
with a take-profit and a stop attached to the entry, at most one trade per session, flat before the session ends.

Sessions. A session starts at the first bar of each day counted from `session_start_hour` UTC and runs for
`session_hours` from that first bar; bars after its end and before the next session are not traded. The defaults,
13 h and 6.5 hours, are the US cash session: a US equity's first bar (13:30 UTC in summer, 14:30 in winter) is the
first after 13:00 UTC in either season, and 24/7 crypto gets the same hours, its "gap" the move since the previous
session's close. (0 and 24: calendar days.) The gap is the session's first open against the close of the previous
session's last bar inside its hours.

Rules, per symbol and session, decided at bar closes (orders fill from the next bar, engine.sim.event.book):
- |gap| >= `min_gap_pct` percent arms the session: a gap up (or none) trades the long side, a gap down the short
  side when `allow_short`, else nothing.
- The opening range is the high and low of the bars that open within `range_minutes` of the session's first bar.
- Entry (`entry`), once the range is complete: "stop" places a stop at the range high (a sell stop at the low
  for a short); when it fills, a one-cancels-other exit pair is attached at once, for the rest of that bar too:
  the stop-loss at the other side of the range (or `stop_pct` percent from the fill) and the take-profit
  `reward_risk` times that risk from the fill. "market" waits for a close beyond the range and sends a market
  bracket order (order_class "bracket"), its stop-loss and take-profit fixed from that signal close the same way.
  The protocol's bracket entry is market or limit only (as Alpaca's), hence the stop entry's exits are attached
  on its fill, which is what a bracket does.
- One entry per session; sized at `weight` of the equity (split over the symbols) at the reference price.
- Flat within the session: at the close of the bar before the session's last one (bar length: the shortest step
  seen so far) every open order is cancelled and the position closed with a market order (filled at the last
  bar's open); a position still held when the next session starts (missing bars) is closed at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine.errors import StrategyError
from engine.strategies.base import param, require
from engine.strategies.event_units import units
from engine.strategies.events import EventStrategy

if TYPE_CHECKING:  # annotations only: a backtest importing the registry needs no order types
    from engine.orders.values import Fill

NS_PER_MINUTE = 60_000_000_000
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR
ENTRIES: tuple[str, ...] = ("stop", "market")


@dataclass
class Session:
    """One symbol's current session: its times (ns), gap, opening range and what was done in it."""

    key: int = -(2**62)
    first: int = 0
    end: int = 0
    gap: float = math.nan
    high: float = -math.inf
    low: float = math.inf
    range_done: bool = False
    direction: int = 0  # +1 long, -1 short, 0 no trade this session
    entered: bool = False  # an entry was sent (or the session is past its last entry bar)
    last_close: float = math.nan  # close of the latest bar inside the session's hours


class GapAndGo(EventStrategy):
    """Opening-range breakout in the gap's direction with a bracket exit (see the module doc)."""

    name = "gap_and_go"
    description = "Intraday opening-range breakout after a gap, bracket exit, flat by the session's end."

    @dataclass(frozen=True)
    class Params:
        min_gap_pct: float = param(0.5, 0.0, 5.0, 0.25, doc="smallest |gap| that arms a session, percent")
        range_minutes: int = param(15, 5, 120, 5, doc="opening range: bars opening within this many minutes")
        reward_risk: float = param(2.0, 0.5, 5.0, 0.5, doc="take-profit distance as a multiple of the risk")
        stop_pct: float = param(0.0, 0.0, 5.0, 0.25, doc="stop-loss percent from the entry; 0: the range's far side")
        entry: str = param("stop", choices=ENTRIES, doc="stop at the range edge, or market after a close beyond it")
        session_start_hour: int = param(13, 0, 23, 1, doc="hour (UTC) from which a session's first bar is taken")
        session_hours: float = param(6.5, 1.0, 24.0, 0.5, doc="session length from its first bar, hours")
        weight: float = param(0.5, 0.1, 0.9, 0.1, doc="fraction of equity per entry (split over symbols)")
        allow_short: bool = param(False, choices=(False, True), doc="trade gap-downs short (break of the low)")

        def __post_init__(self) -> None:
            require(self.min_gap_pct >= 0, f"min_gap_pct must be >= 0, got {self.min_gap_pct}")
            require(self.range_minutes >= 1, f"range_minutes must be >= 1, got {self.range_minutes}")
            require(self.reward_risk > 0, f"reward_risk must be > 0, got {self.reward_risk}")
            require(0 <= self.stop_pct < 100, f"stop_pct must be in [0, 100), got {self.stop_pct}")
            require(self.entry in ENTRIES, f"entry must be one of {ENTRIES}, got {self.entry!r}")
            require(
                0 <= self.session_start_hour <= 23, f"session_start_hour must be 0..23, got {self.session_start_hour}"
            )
            require(0 < self.session_hours <= 24, f"session_hours must be in (0, 24], got {self.session_hours}")
            require(
                self.range_minutes < self.session_hours * 60,
                f"range_minutes {self.range_minutes} must be shorter than the session ({self.session_hours} h)",
            )
            require(0 < self.weight <= 1, f"weight must be in (0, 1], got {self.weight}")

    def on_start(self, ctx: Any) -> None:
        if not isinstance(ctx.data.index, pd.DatetimeIndex):
            raise StrategyError(f"{self.name} needs timestamped intraday bars, got a {type(ctx.data.index).__name__}")
        self.size = self.params.weight / len(ctx.symbols)
        self.sessions: dict[str, Session] = {sym: Session() for sym in ctx.symbols}
        self.previous: dict[str, int] = {}
        self.step: dict[str, int] = {sym: 0 for sym in ctx.symbols}  # the shortest bar step seen so far, ns (0: none)

    def on_bar(self, bar: Any, ctx: Any) -> None:
        sym, p = bar.symbol, self.params
        t = bar.time.value
        if sym in self.previous:
            gap = t - self.previous[sym]
            self.step[sym] = gap if self.step[sym] == 0 else min(self.step[sym], gap)
        self.previous[sym] = t
        s = self.sessions[sym]
        key = (t - p.session_start_hour * NS_PER_HOUR) // NS_PER_DAY
        if key != s.key:
            s = self._open_session(sym, key, t, bar.open, ctx)
        if t >= s.end:
            return  # after the session's hours
        s.last_close = bar.close
        step = self.step[sym]
        closing = step > 0 and t + 2 * step >= s.end  # only the session's last bar is left: be flat at its open
        range_end = s.first + p.range_minutes * NS_PER_MINUTE
        in_range = t < range_end
        if in_range:
            s.high, s.low = max(s.high, bar.high), min(s.low, bar.low)
        if not s.range_done and (not in_range or (step > 0 and t + step >= range_end)):
            s.range_done = True
            s.direction = self._direction(s)
        if closing:
            s.entered = True
            if ctx.position(sym) != 0.0 or ctx.open_orders(sym):
                ctx.close(sym)
            return
        if s.range_done and s.direction and not s.entered:
            if p.entry == "stop":
                self._stop_entry(s, sym, ctx)
            elif not in_range and (bar.close > s.high if s.direction > 0 else bar.close < s.low):
                self._bracket_entry(s, sym, bar.close, ctx)

    def on_fill(self, fill: Fill, ctx: Any) -> None:
        """A fill of the stop entry (told by its side and the position it leaves, not by an order id, so a restarted
        live loop knows it too): attach the exits."""
        s = self.sessions.get(fill.symbol)
        if s is None or self.params.entry != "stop" or not s.entered or not s.direction:
            return
        if fill.side != ("buy" if s.direction > 0 else "sell") or ctx.position(fill.symbol) * s.direction <= 0:
            return  # an exit, or the close of a position left from an earlier session
        take_profit, stop_loss = self._exits(s, fill.price)
        exit_side = "sell" if s.direction > 0 else "buy"
        ctx.order(
            exit_side,
            fill.quantity,
            "limit",
            fill.symbol,
            order_class="oco",
            take_profit=take_profit,
            stop_loss=stop_loss,
            time_in_force="gtc",
        )

    # ------------------------------------------------------------------------------------------ internals
    def _open_session(self, sym: str, key: int, t: int, open_: float, ctx: Any) -> Session:
        """A new session from this bar: the gap against the previous session's last close; leftovers closed."""
        if ctx.position(sym) != 0.0 or ctx.open_orders(sym):
            ctx.close(sym)
        before = self.sessions[sym].last_close
        s = Session(key=key, first=t, end=t + int(self.params.session_hours * NS_PER_HOUR))
        s.gap = open_ / before - 1.0 if before > 0 else math.nan
        self.sessions[sym] = s
        return s

    def _direction(self, s: Session) -> int:
        """+1 / -1 / 0: the side this session may trade (module doc)."""
        p = self.params
        if math.isnan(s.gap) or abs(s.gap) * 100.0 < p.min_gap_pct:
            return 0
        if p.stop_pct == 0.0 and not s.high > s.low:
            return 0  # a flat range defines no risk
        if s.gap >= 0:
            return 1
        return -1 if p.allow_short else 0

    def _exits(self, s: Session, reference: float) -> tuple[float, float]:
        """(take_profit, stop_loss) around an entry at `reference`."""
        p, d = self.params, s.direction
        if p.stop_pct > 0:
            stop_loss = reference * (1.0 - d * p.stop_pct / 100.0)
        else:
            stop_loss = s.low if d > 0 else s.high
        return reference + p.reward_risk * (reference - stop_loss), stop_loss

    def _quantity(self, sym: str, price: float, ctx: Any) -> float:
        return units(ctx, sym, self.size * ctx.equity, price, f"{self.name} (weight {self.params.weight})")

    def _stop_entry(self, s: Session, sym: str, ctx: Any) -> None:
        level = s.high if s.direction > 0 else s.low
        side = "buy" if s.direction > 0 else "sell"
        ctx.order(side, self._quantity(sym, level, ctx), "stop", sym, stop_price=level, time_in_force="gtc")
        s.entered = True

    def _bracket_entry(self, s: Session, sym: str, close: float, ctx: Any) -> None:
        take_profit, stop_loss = self._exits(s, close)
        side = "buy" if s.direction > 0 else "sell"
        ctx.order(
            side,
            self._quantity(sym, close, ctx),
            "market",
            sym,
            order_class="bracket",
            take_profit=take_profit,
            stop_loss=stop_loss,
            time_in_force="gtc",
        )
        s.entered = True

"""Event-driven versions of three weights strategies, trading real orders: `sma_cross_event`, `ema_trend_event`
(its ATR stop-loss, take-profit and trailing stop held as resting orders) and `donchian_event`.

Each reads the same pandas-ta indicators as its weights twin (engine.strategies.crossover / trend / breakout) and
decides bar by bar; an event backtest of one equals the vectorized backtest of the other (same trades, equity
within 1e-9; tests/engine/event/test_equivalence.py), which is how the event simulator is checked against the
vectorized kernel. A position is a percent-of-equity market order (`ctx.order_target_percent`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.strategies.breakout import SYSTEMS, DonchianBreakout, prior_channel
from engine.strategies.common import TIE_REL
from engine.strategies.crossover import SmaCross
from engine.strategies.events import EventStrategy
from engine.strategies.gap_and_go import GapAndGo
from engine.strategies.grid_bot import GridBot
from engine.strategies.trend import EmaTrend

if TYPE_CHECKING:  # annotations only: a backtest importing the registry needs no order types
    from engine.orders.values import Fill


class SmaCrossEvent(EventStrategy):
    """`sma_cross` as events: long (or short) from a cross to the next, one market order per change."""

    name = "sma_cross_event"
    description = "SMA crossover placing market orders bar by bar (the event twin of sma_cross)."
    Params = SmaCross.Params

    def on_start(self, ctx: Any) -> None:
        p = self.params
        self.size = p.weight / len(ctx.symbols)
        self.symbols: dict[str, list[Any]] = {}  # symbol -> [cross state line, last non-zero state, position]
        for sym in ctx.symbols:
            self.symbols[sym] = [ctx.indicator(lambda b: self.state(b["close"].to_numpy()), sym, "state"), 0.0, 0.0]

    def state(self, close: np.ndarray) -> np.ndarray:
        """+1 where the fast SMA is above the slow one, -1 below, 0 while either is undefined or they tie
        (|fast - slow| <= TIE_REL x |slow|): each bar's state from that bar's two averages only."""
        fast, slow = SmaCross.average(close, self.params.fast), SmaCross.average(close, self.params.slow)
        with np.errstate(invalid="ignore"):
            state = np.sign(fast - slow)
            state[~(np.abs(fast - slow) > TIE_REL * np.abs(slow))] = 0.0  # NaN compares False: undefined too
        return state

    def on_bar(self, bar: Any, ctx: Any) -> None:
        mine = self.symbols[bar.symbol]
        state = mine[0][0]
        if state == 0.0 or state == mine[1]:
            return  # undefined, tied, or no change of side
        last, mine[1] = mine[1], state
        if last == 0.0:
            return  # the first state after warm-up is not a cross
        pos = 1.0 if state == 1.0 else (-1.0 if self.params.allow_short else 0.0)
        if pos != mine[2]:
            mine[2] = pos
            ctx.order_target_percent(pos * self.size, bar.symbol)


class EmaTrendEvent(EventStrategy):
    """`ema_trend` as events: a market entry while in trend; after the fill a stop-loss, a take-profit limit and a
    trailing stop rest at the venue, their distances the ATR fractions of the signal bar; the first exit to fill
    cancels the others."""

    name = "ema_trend_event"
    description = "EMA trend with ATR stop, target and trailing stop held as orders (event twin of ema_trend)."
    Params = EmaTrend.Params

    def on_start(self, ctx: Any) -> None:
        twin, p = EmaTrend(self.params), self.params
        self.size = p.weight / len(ctx.symbols)
        self.lines: dict[str, tuple[Any, Any, Any]] = {}
        self.want: dict[str, float] = {}
        self.stops: dict[str, tuple[float, float, float]] = {}
        for sym in ctx.symbols:
            ema = ctx.indicator(lambda b: twin._ema(b["close"]), sym, "ema")
            past = ctx.indicator(lambda b: twin._ema(b["close"]).shift(p.slope_bars), sym, "ema_past")
            atr = ctx.indicator(lambda b: twin._atr_fraction(b), sym, "atr_fraction")
            self.lines[sym], self.want[sym] = (ema, past, atr), 0.0

    def on_bar(self, bar: Any, ctx: Any) -> None:
        sym, p = bar.symbol, self.params
        ema, past, atr = (line[0] for line in self.lines[sym])
        ready = not (math.isnan(ema) or math.isnan(past) or math.isnan(atr))
        want = 1.0 if ready and bar.close > ema and ema > past else 0.0
        if want == self.want[sym]:
            return
        self.want[sym] = want
        self.stops[sym] = (min(atr * p.sl_atr, 1.0), atr * p.tp_atr, min(atr * p.trail_atr, 1.0))
        ctx.order_target_percent(want * self.size, sym)

    def on_fill(self, fill: Fill, ctx: Any) -> None:
        sym = fill.symbol
        held = ctx.position(sym)
        if held == 0.0:  # an exit (or the signal's sell) closed the position: the other exits go
            for o in ctx.open_orders(sym):
                ctx.cancel(o.id)
            return
        if fill.side != "buy" or held != fill.quantity:
            return  # not a new long entry
        sl, tp, trail = self.stops[sym]
        px, p = fill.price, self.params
        if p.sl_atr > 0 and sl == sl:
            ctx.sell(held, "stop", sym, stop_price=px * (1.0 - sl), time_in_force="gtc")
        if p.trail_atr > 0 and trail == trail:
            ctx.sell(held, "trailing_stop", sym, trail_percent=trail * 100.0, time_in_force="gtc")
        if p.tp_atr > 0 and tp == tp:
            ctx.sell(held, "limit", sym, limit_price=px * (1.0 + tp), time_in_force="gtc")


class DonchianEvent(EventStrategy):
    """`donchian_breakout` as events: a market order when the close breaks the prior channel."""

    name = "donchian_event"
    description = "Turtle breakout placing market orders bar by bar (the event twin of donchian_breakout)."
    Params = DonchianBreakout.Params

    def on_start(self, ctx: Any) -> None:
        p = self.params
        entry, exit_ = SYSTEMS[p.system]
        self.size = p.weight / len(ctx.symbols)
        self.lines: dict[str, list[Any]] = {}
        self.state: dict[str, list[float]] = {}

        def side(low_len: int, high_len: int, k: int) -> Any:
            return lambda b: pd.Series(prior_channel(b, low_len, high_len)[k], index=b.index)

        for sym in ctx.symbols:
            lines = [ctx.indicator(side(exit_, entry, 1), sym, "entry_high")]
            lines.append(ctx.indicator(side(exit_, entry, 0), sym, "exit_low"))
            if p.allow_short:
                lines.append(ctx.indicator(side(entry, exit_, 0), sym, "entry_low"))
                lines.append(ctx.indicator(side(entry, exit_, 1), sym, "exit_high"))
            self.lines[sym], self.state[sym] = lines, [0.0, 0.0]

    def on_bar(self, bar: Any, ctx: Any) -> None:
        sym, c = bar.symbol, bar.close
        values = [line[0] for line in self.lines[sym]]
        long_in, long_out = c > values[0], c < values[1]
        short_in = short_out = False
        if self.params.allow_short:
            short_in, short_out = c < values[2], c > values[3]
        longs, shorts = self.state[sym]
        before = longs - shorts
        longs = 1.0 if long_in else (0.0 if (long_out or short_in) else longs)
        shorts = 1.0 if short_in else (0.0 if (short_out or long_in) else shorts)
        self.state[sym] = [longs, shorts]
        if longs - shorts != before:
            ctx.order_target_percent((longs - shorts) * self.size, sym)


EVENT_SYSTEMS: tuple[type[EventStrategy], ...] = (SmaCrossEvent, EmaTrendEvent, DonchianEvent, GapAndGo, GridBot)

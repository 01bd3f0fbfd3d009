"""How the simulated broker works a bar (engine.sim.event.book states the rules): the account state, the fills of
bar t's open and range, and the bookkeeping of a fill. `SimulatedBroker` (engine.sim.event.broker) adds the `Broker`
protocol on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.config import BacktestConfig
from engine.orders.errors import InvalidOrder, OrderRejected
from engine.orders.values import Fill, OrderStatus
from engine.sim.event import book
from engine.sim.event.book import SimOrder
from engine.sim.event.fills import FillLog, forward_filled
from engine.sim.kernels import (
    DUST,
    FIN_BORROW,
    FIN_CASH,
    FIN_MARGIN,
    REASON_SIGNAL,
    REASON_STOP_LOSS,
    REASON_TAKE_PROFIT,
)
from engine.sim.simulate import financing_settings, kernel_settings

MAX_FILLS_PER_BAR = 10_000
"""A bar whose callbacks keep placing orders that fill at once is a strategy bug, reported after this many."""


class Matching:
    """The simulated venue's state and its bar processing (see the module doc)."""

    name = "sim"

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        symbols: Sequence[str],
        times: Any,
        sessions: np.ndarray,
        config: BacktestConfig,
        latency: int = 0,
        participation: float | None = None,
    ) -> None:
        self.opens, self.highs, self.lows = arrays["open"], arrays["high"], arrays["low"]
        self.closes, self.volumes = arrays["close"], arrays["volume"]
        self.symbols = list(symbols)
        self.columns = {s: j for j, s in enumerate(self.symbols)}
        self.times, self.sessions = times, sessions
        self.config, self.latency, self.participation = config, latency, participation
        costs = config.costs
        self.comm, self.min_comm, self.slip = (
            costs.commission_bps / 1e4,
            float(costs.min_commission),
            costs.slippage_bps / 1e4,
        )
        self.fractional = bool(config.fractional)
        self.max_lev = float(config.risk.max_leverage)
        n = len(self.symbols)
        self.cash = float(config.initial_cash)
        self.q = [0.0] * n  # units held per column (Python floats: the hot path reads them one at a time)
        self.avg = [0.0] * n
        self.marked = forward_filled(self.closes)  # the last known close of each symbol at each bar
        self.cash_growth = kernel_settings(config)[7]
        self.margin_growth, borrow = financing_settings(config, list(symbols))
        self.borrow = borrow.tolist()
        self.any_borrow = any(rate != 0.0 for rate in self.borrow)
        self.financing = np.zeros((len(times), 3))  # per bar: borrow fee, margin interest paid, cash interest earned
        self.now: dict[int, float] = {}  # column -> the latest trade within the bar being processed
        self.t = -1
        self.in_bar = False  # True while bar t's open and range are processed (callbacks place intrabar orders)
        self.orders_by_id: dict[str, SimOrder] = {}
        self.by_client: dict[str, SimOrder] = {}
        self.working: list[SimOrder] = []  # open orders, in submission order
        self.log = FillLog(len(self.times))
        self.on_fill: Callable[[Fill], None] | None = None
        self.on_order: Callable[[OrderStatus], None] | None = None
        self._seq = 0
        self._used_volume = np.zeros(n)

    def status(self, o: SimOrder) -> OrderStatus:
        """The protocol's view of a simulated order."""
        return OrderStatus(
            id=o.id,
            client_order_id=o.client_order_id,
            symbol=o.symbol,
            side="buy" if o.side > 0 else "sell",
            quantity=o.quantity,
            filled_quantity=o.filled,
            avg_fill_price=None if math.isnan(o.avg_price) else o.avg_price,
            status=o.status,
            reason=o.status_reason,
            type=o.type,
            limit_price=book.none_if_nan(o.limit),
            submitted_at=self._time(o.placed_bar),
            filled_at=self._time(o.filled_bar),
            stop_price=book.none_if_nan(o.stop),
            trail_percent=book.none_if_nan(o.trail_percent),
            trail_price=book.none_if_nan(o.trail_price),
            order_class=o.order_class,
            parent_id=o.parent_id,
            legs=o.legs,
            time_in_force=o.time_in_force,
        )

    def begin_bar(self, t: int) -> None:
        """Bar t up to its close: expiries, the fills at its open, then the fills its range reaches."""
        self.t = t
        if not self.working:
            return
        self.in_bar = True
        if self.participation is not None:
            self._used_volume[:] = 0.0
        self.now = {}
        self._expire_sessions(t)
        self._fill_market(t)
        if any(o.type != "market" for o in self.working):
            self._fill_gaps(t)
            self._fill_range(t)
        if any(o.time_in_force in ("ioc", "fok") for o in self.working):
            self._end_immediate(t)
        self.now = {}
        self.in_bar = False

    def finance(self, t: int) -> None:
        """Bar t's financing, on the state at the previous close (engine.sim.kernels._finance, same formulas and
        order): positive cash earns the cash rate, negative cash pays the margin rate, each short pays its borrow
        fee on its value at that close; each amount is written to `financing[t]`."""
        before = self.cash
        if self.cash > 0.0 and self.cash_growth != 1.0:
            self.cash *= self.cash_growth
            self.financing[t, FIN_CASH] = self.cash - before
        elif self.cash < 0.0 and self.margin_growth != 1.0:
            self.cash *= self.margin_growth
            self.financing[t, FIN_MARGIN] = before - self.cash
        if self.any_borrow:
            fee = 0.0
            last = self.marked[t - 1]
            for j, held in enumerate(self.q):
                if held < 0.0 and self.borrow[j] != 0.0:
                    fee -= held * last[j] * self.borrow[j]
            self.cash -= fee
            self.financing[t, FIN_BORROW] = fee

    def _marks(self) -> np.ndarray:
        """Each symbol's price now: within a bar its latest trade, else its last close (NaN before its first bar)."""
        last = self.marked[self.t] if self.t >= 0 else np.full(len(self.symbols), np.nan)
        if self.in_bar:  # bar t is not closed yet: the previous close where no trade happened within it
            last = self.marked[self.t - 1] if self.t > 0 else np.full(len(self.symbols), np.nan)
            marks = np.where(np.isnan(self.opens[self.t]), last, self.opens[self.t])
            for j, price in self.now.items():
                marks[j] = price
            return marks
        return last

    def _equity_now(self) -> float:
        """Cash plus every position at its price now (`_marks`)."""
        marks = self._marks()
        return self.cash + sum(held * float(marks[j]) for j, held in enumerate(self.q) if held != 0.0)

    def _time(self, t: int) -> Any:
        return self.times[t] if t >= 0 else None

    def _power(self, equity: float) -> float:
        return max(self.cash + (self.max_lev - 1.0) * equity, 0.0)

    def _column(self, symbol: str) -> int:
        if symbol not in self.columns:
            raise InvalidOrder(f"sim: symbol {symbol!r} is not in this backtest's data {self.symbols}")
        return self.columns[symbol]

    def _new(self, cid: str, symbol: str, j: int, side: int, qty: float, kind: str, tif: str) -> SimOrder:
        self._seq += 1
        t = self.t
        latency = self.latency
        intrabar = self.in_bar and latency == 0
        active = t + latency if self.in_bar else t + 1 + latency
        return SimOrder(f"sim-{self._seq}", cid, symbol, j, side, qty, kind, tif, active, t, intrabar=intrabar)

    def _open(self, o: SimOrder) -> SimOrder:
        if o.intrabar:
            o.placed_price = self._current(o.column)
        self.orders_by_id[o.id] = o
        self.by_client[o.client_order_id] = o
        self.working.append(o)
        self._event(o, "placed")
        return o

    def _current(self, j: int) -> float:
        return float(self._marks()[j])

    def _event(self, o: SimOrder, what: str, price: float = math.nan, qty: float = 0.0) -> None:
        self.log.order_event(self.t, o, what, price, qty)
        if self.on_order is not None and what != "filled":
            self.on_order(self.status(o))

    def _finish(self, o: SimOrder, status: str, why: str) -> None:
        o.status, o.status_reason = status, why
        if o in self.working:
            self.working.remove(o)
        self._event(o, status)

    def _has_bar(self, t: int, j: int) -> bool:
        return not math.isnan(self.opens[t, j])

    def _expire_sessions(self, t: int) -> None:
        day = None
        for o in list(self.working):
            if o.active_from > t or o.time_in_force != "day" or not self._has_bar(t, o.column):
                continue  # a day order's session is the first one its symbol trades in
            day = self.sessions[t] if day is None else day
            if o.session is None:
                o.session = day
            elif o.session != day:
                self._finish(o, "expired", "a day order: its session ended")

    def _end_immediate(self, t: int) -> None:
        for o in list(self.working):
            if o.active_from <= t and o.time_in_force in ("ioc", "fok") and self._has_bar(t, o.column):
                self._finish(o, "canceled", f"{o.time_in_force}: the rest was not fillable at once")

    def _fill_market(self, t: int) -> None:
        """The market orders active at bar t fill at its open: percent orders sized on the equity marked at the
        open, sells before buys (as the vectorized kernel)."""
        due = [o for o in self.working if o.type == "market" and o.active_from <= t and self._has_bar(t, o.column)]
        if not due:
            return
        last = self.marked[t - 1] if t > 0 else np.full(len(self.symbols), np.nan)
        value = self.cash
        for j, held in enumerate(self.q):  # the kernel's order of additions: equal to the last bit
            if held != 0.0:
                p = self.opens[t, j]
                value += held * (p if not math.isnan(p) else last[j])
        sized: list[tuple[SimOrder, float]] = []
        for o in due:
            if math.isnan(o.target_weight) or o.sized:  # a quantity, or the rest of a percent order cut by the cap
                sized.append((o, o.side * o.remaining))
                continue
            delta = self._target_delta(o, value, float(self.opens[t, o.column]))
            if delta == 0.0:
                self._finish(o, "canceled", "the position is already at the target weight")
            else:  # from now on an order for these units: what the volume cap leaves waits for the next opens
                o.quantity, o.side, o.sized = abs(delta), (1 if delta > 0 else -1), True
                sized.append((o, delta))
        for phase in (-1, 1):
            for o, delta in sized:
                if (delta > 0) == (phase > 0) and o.is_open:
                    self._fill(o, float(self.opens[t, o.column]), delta, value, market=True)

    def _target_delta(self, o: SimOrder, value: float, p: float) -> float:
        """engine.sim.kernels._execute's order for one symbol: the units to trade to hold `target_weight`."""
        w, j = o.target_weight, o.column
        qb = w * value / (p * (1.0 + self.slip) * (1.0 + self.comm))
        qs = w * value / (p * (1.0 - self.slip) * (1.0 + self.comm))
        if not self.fractional:
            qb, qs = math.trunc(qb), math.trunc(qs)
        if self.q[j] < qb:
            return float(qb - self.q[j])
        if self.q[j] > qs:
            return float(qs - self.q[j])
        return 0.0

    def _fill_gaps(self, t: int) -> None:
        """Stops, then limits, that bar t's open is already through fill at the open (stops in path order: the one
        the price met first, e.g. the higher of a long's stop-loss and trailing stop, is the one that fills)."""
        seen = [
            o
            for o in self.working
            if o.active_from <= t and o.type != "market" and not (o.intrabar and o.placed_bar == t)
        ]
        stops = sorted((o for o in seen if o.is_stop), key=lambda o: (o.path_key(), self.working.index(o)))
        for o in stops:
            p = float(self.opens[t, o.column])
            if o.is_open and not math.isnan(p) and book.stop_gapped(o, p):
                self._trigger(o, p)
        for o in seen:
            p = float(self.opens[t, o.column])
            if o.is_open and not o.is_stop and not math.isnan(p) and book.limit_gapped(o, p):
                self._fill(o, p, o.side * o.remaining, None, market=False)

    def _fill_range(self, t: int) -> None:
        """Stops in the order the price path meets them, then limits, until nothing more is reached."""
        for _ in range(MAX_FILLS_PER_BAR):
            live = [
                o
                for o in self.working
                if o.active_from <= t
                and o.type != "market"
                and self._has_bar(t, o.column)
                and self._volume_left(o.column)
            ]  # a symbol whose volume cap is used up waits for the next bar
            lo, hi = self.lows[t], self.highs[t]
            stops = [o for o in live if o.is_stop and book.stop_reached(o, lo[o.column], hi[o.column])]
            if stops:
                first = min(stops, key=lambda o: (o.path_key(), self.working.index(o)))
                self._trigger(first, book.stop_fill_price(first, t))
                continue
            limits = [o for o in live if not o.is_stop and book.limit_reached(o, lo[o.column], hi[o.column])]
            if limits:
                self._fill(limits[0], limits[0].limit, limits[0].side * limits[0].remaining, None, market=False)
                continue
            for o in live:
                if o.type == "trailing_stop":
                    book.move_extreme(o, lo[o.column], hi[o.column])
            return
        raise OrderRejected(f"sim: more than {MAX_FILLS_PER_BAR} fills in bar {t}: orders keep filling at once")

    def _trigger(self, o: SimOrder, price: float) -> None:
        """A stop reached at `price`: a stop or trailing stop fills there (as a market order), a stop-limit becomes
        its limit and fills there only if the limit allows it."""
        if o.type == "stop_limit":
            o.triggered = True
            if (o.side > 0 and price <= o.limit) or (o.side < 0 and price >= o.limit):
                self._fill(o, price, o.side * o.remaining, None, market=False)
            return
        self._fill(o, price, o.side * o.remaining, None, market=True)

    def _fill(self, o: SimOrder, price: float, delta: float, value: float | None, *, market: bool) -> None:
        """Fill `delta` units (signed) of `o` at `price` (slipped when `market`), within the position for an exit,
        the volume cap and the buying power."""
        j = o.column
        if o.reduce_only:
            if self.q[j] == 0.0 or (self.q[j] > 0) == (delta > 0):
                self._finish(o, "canceled", "an exit without a position to close")
                return
            delta = math.copysign(min(abs(delta), abs(self.q[j])), delta)
        cap = self._volume_left(j)
        if abs(delta) > cap:
            if o.time_in_force == "fok" or cap <= 0.0:
                if o.time_in_force == "fok":
                    self._finish(o, "canceled", "fok: the volume cap leaves less than the whole order")
                return
            delta = math.copysign(cap, delta)
        pf = price * (1.0 + self.slip) if (market and delta > 0) else (price * (1.0 - self.slip) if market else price)
        equity = value if value is not None else self._equity_now()
        if delta > 0 and self.q[j] >= 0.0:
            delta = self._affordable(o, delta, pf, equity)
            if delta <= 0.0:
                return
        if abs(delta) * pf <= DUST * abs(equity) and self.q[j] + delta != 0.0:
            self._finish(o, "canceled", "below the smallest tradable amount")
            return
        fee = abs(delta) * pf * self.comm
        fee = fee if fee > self.min_comm else self.min_comm
        self._book(o, delta, pf, fee)

    def _affordable(self, o: SimOrder, d: float, pf: float, equity: float) -> float:
        """A buy within the buying power: a percent order is cut to it (the kernel's rule), any other is refused."""
        power = self._power(equity)
        fee = max(d * pf * self.comm, self.min_comm)
        if d * pf + fee <= power:
            return d
        if math.isnan(o.target_weight):
            self._finish(o, "rejected", f"insufficient buying power: needs {d * pf + fee:.2f}, has {power:.2f}")
            return 0.0
        d = power / (pf * (1.0 + self.comm))
        if d * pf * self.comm < self.min_comm:
            d = (power - self.min_comm) / pf
        if not self.fractional:
            d = math.floor(d)
        if d <= 0.0:
            self._finish(o, "rejected", f"insufficient buying power: has {power:.2f}")
        else:
            o.quantity = o.filled + d  # the kernel buys what the cash allows, and that is the whole order
        return d

    def _volume_left(self, j: int) -> float:
        share = self.participation
        if share is None:
            return math.inf
        return max(share * float(self.volumes[self.t, j]) - self._used_volume[j], 0.0)

    def _book(self, o: SimOrder, delta: float, pf: float, fee: float) -> None:
        """Record a fill of `delta` units at `pf`: cash, position, average cost, the order, then the callbacks."""
        j, t = o.column, self.t
        q_old = self.q[j]
        if o.target_weight == o.target_weight:  # a percent order: its side is what it traded
            o.side = 1 if delta > 0 else -1
        self.cash -= delta * pf + fee
        q_new = q_old + delta
        if self.fractional and abs(q_new) <= 1e-12 * abs(q_old):
            q_new = 0.0
        if q_new == 0.0:
            self.avg[j] = 0.0
        elif q_old == 0.0 or (q_old > 0) != (q_new > 0):
            self.avg[j] = pf
        elif abs(q_new) > abs(q_old):
            self.avg[j] = (self.avg[j] * abs(q_old) + pf * abs(delta)) / abs(q_new)
        self.q[j] = q_new
        if self.participation is not None:
            self._used_volume[j] += abs(delta)
        if self.in_bar:
            self.now[j] = pf
        o.avg_price = (
            pf if math.isnan(o.avg_price) else (o.avg_price * o.filled + pf * abs(delta)) / (o.filled + abs(delta))
        )
        o.filled += abs(delta)
        o.filled_bar = t
        reason = o.reason if q_old != 0.0 and (q_old > 0) != (delta > 0) else REASON_SIGNAL  # an exit says why
        self.log.fill(t, j, delta, pf, fee, reason)
        if o.remaining <= 1e-12 * max(o.quantity, 1.0):
            o.status = "filled"
            self.working.remove(o)
        else:
            o.status = "partially_filled"
        self.log.order_event(t, o, "filled" if o.status == "filled" else "partially_filled", pf, abs(delta))
        self._after_fill(o, q_new)
        if self.on_fill is not None:
            side = "buy" if delta > 0 else "sell"
            fill = Fill(
                f"{o.id}-f{len(o.events)}", o.id, o.client_order_id, o.symbol, side, abs(delta), pf, fee, self.times[t]
            )
            o.events.append("fill")
            self.on_fill(fill)
        if self.on_order is not None:
            self.on_order(self.status(o))

    def _after_fill(self, o: SimOrder, q_new: float) -> None:
        """OCO siblings cancelled; a bracket entry's exits placed; exits of a flat position cancelled."""
        if o.group:
            for other in [x for x in self.working if x.group == o.group and x is not o]:
                self._finish(other, "canceled", f"one-cancels-other: {o.id} filled")
        if o.order_class == "bracket" and not o.legs and not o.parent_id:
            self._bracket_exits(o)
        if q_new == 0.0:
            for other in [x for x in self.working if x.reduce_only and x.column == o.column]:
                self._finish(other, "canceled", "the position is closed")

    def _bracket_exits(self, entry: SimOrder) -> None:
        """The take-profit limit and the stop (or stop-limit) of a filled bracket entry, one OCO group, active for
        the rest of this bar."""
        kind = "stop" if math.isnan(entry.stop_loss_limit) else "stop_limit"
        side, j, qty = -entry.side, entry.column, entry.quantity
        tp = self._new(f"{entry.client_order_id}-tp", entry.symbol, j, side, qty, "limit", "gtc")
        tp.limit, tp.reason = entry.take_profit, REASON_TAKE_PROFIT
        sl = self._new(f"{entry.client_order_id}-sl", entry.symbol, j, side, qty, kind, "gtc")
        sl.stop, sl.limit, sl.reason = entry.stop_loss, entry.stop_loss_limit, REASON_STOP_LOSS
        for leg in (tp, sl):
            leg.group, leg.reduce_only, leg.parent_id, leg.order_class = entry.id, True, entry.id, "bracket"
            self._open(leg)
        entry.legs = (tp.id, sl.id)

"""The event simulator's order book: one mutable `SimOrder` per order and the stated fill rules of a bar.

Rules (one bar = open, then the range low..high, then the close; no intrabar data):
- A market order fills at the open of its first active bar (an order placed at the close of bar t is active from
  bar t + 1 + latency).
- At the open (gaps): a stop (stop, stop-limit trigger, trailing) whose level the open is already through fills at
  the open; a limit the open is already through fills at the open (a better price than its limit).
- In the range: stops fill at their level when the range reaches it, in the order the price path meets them from
  the open (sell stops from the highest, buy stops from the lowest; ties by submission), then limits at their price
  (buy: low <= limit, sell: high >= limit). Stops before limits: when a stop and a target are both inside one bar,
  the stop wins, the vectorized engine's rule (engine.sim.kernels).
- An order placed during a bar (from `on_fill`/`on_order`, e.g. the exits of an entry filled at the open) is active
  for the rest of that bar: it is checked against the range but never against the open it did not see; a stop
  already through the price at which it was placed fills at that price.
- A trailing stop trails from the price when it was placed; after the bar's checks its extreme moves to the bar's
  high (sell) or low (buy).
- A stop-limit triggers as a stop, then is a limit: it fills at the trigger price when the limit allows it, else it
  rests as a limit.
Prices: a market or stop fill moves against the trader by the slippage (engine.sim.costs.fill_price); a limit fills
at its price or better, never worse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.sim.kernels import REASON_SIGNAL, REASON_STOP_LOSS, REASON_TAKE_PROFIT, REASON_TRAILING

NAN = math.nan
STOP_TYPES = frozenset({"stop", "stop_limit", "trailing_stop"})


@dataclass(slots=True)
class SimOrder:
    """What the simulator keeps about one order (`side` +1 buy / -1 sell; quantity > 0 units)."""

    id: str
    client_order_id: str
    symbol: str
    column: int
    side: int
    quantity: float
    type: str
    time_in_force: str
    active_from: int
    placed_bar: int
    limit: float = NAN
    stop: float = NAN
    trail_percent: float = NAN
    trail_price: float = NAN
    extreme: float = NAN
    order_class: str = "simple"
    parent_id: str = ""
    legs: tuple[str, ...] = ()
    group: str = ""  # orders of one OCO group: a fill of one cancels the others
    reduce_only: bool = False  # an exit: cancelled when its symbol's position is flat, never opens one
    target_weight: float = NAN  # a percent order: sized at its first fill (engine.sim.event.matching._fill_market)
    sized: bool = False  # a percent order already sized: its quantity and side are set
    reason: int = 0  # engine.sim.kernels.REASONS code of its fills
    intrabar: bool = False  # placed while bar `placed_bar` was processed (it never saw that bar's open)
    placed_price: float = NAN  # an intrabar order: the price when it was placed (a stop already through it fills there)
    triggered: bool = False  # a stop-limit whose stop was reached (now a limit)
    filled: float = 0.0
    avg_price: float = NAN
    status: str = "new"
    status_reason: str = ""
    filled_bar: int = -1  # the bar of the last fill (-1: none)
    session: object = None  # the trading day a "day" order lives in (set at its first active bar)
    take_profit: float = NAN  # a bracket entry's exits, placed when it fills
    stop_loss: float = NAN
    stop_loss_limit: float = NAN
    events: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status in ("new", "partially_filled")

    @property
    def is_stop(self) -> bool:
        return self.type in STOP_TYPES and not self.triggered

    def trail_level(self) -> float:
        """A trailing stop's level from its extreme: a sell trails below the high, a buy above the low."""
        if not math.isnan(self.trail_price):
            return self.extreme - self.trail_price if self.side < 0 else self.extreme + self.trail_price
        k = self.trail_percent / 100.0
        return self.extreme * (1.0 - k) if self.side < 0 else self.extreme * (1.0 + k)

    def stop_level(self) -> float:
        return self.trail_level() if self.type == "trailing_stop" else self.stop

    def path_key(self) -> float:
        """Sort key: the order in which the price path from the open meets the stops (sell stops from the highest)."""
        level = self.stop_level()
        return -level if self.side < 0 else level


def stop_fill_price(order: SimOrder, t: int) -> float:
    """Where a stop reached in bar t's range fills: its level, or, placed during bar t already through its level,
    the price when it was placed (a sell stop placed above the market is a market order)."""
    level = order.stop_level()
    placed = order.placed_price
    if order.placed_bar != t or not order.intrabar or placed != placed:
        return level
    return min(level, placed) if order.side < 0 else max(level, placed)


def stop_gapped(order: SimOrder, open_: float) -> bool:
    """The open is already through the stop level (sell: open <= level; buy: open >= level)."""
    level = order.stop_level()
    return open_ <= level if order.side < 0 else open_ >= level


def stop_reached(order: SimOrder, low: float, high: float) -> bool:
    """The bar's range reaches the stop level."""
    level = order.stop_level()
    return low <= level if order.side < 0 else high >= level


def limit_gapped(order: SimOrder, open_: float) -> bool:
    """The open is already at the limit or better (buy: open <= limit; sell: open >= limit)."""
    return open_ <= order.limit if order.side > 0 else open_ >= order.limit


def limit_reached(order: SimOrder, low: float, high: float) -> bool:
    """The range trades through the limit (buy: low <= limit; sell: high >= limit)."""
    return low <= order.limit if order.side > 0 else high >= order.limit


def move_extreme(order: SimOrder, low: float, high: float) -> None:
    """After a bar without a trigger: a sell trailing stop follows the high, a buy one the low."""
    if order.side < 0:
        if high > order.extreme:
            order.extreme = high
    elif low < order.extreme:
        order.extreme = low


def exit_reason(o: SimOrder) -> int:
    """What a fill of `o` that reduces a position is called in the trade list (engine.sim.kernels.REASONS): a stop
    a stop-loss, a trailing stop a trailing stop, a limit a take-profit, a market order a signal."""
    return {
        "stop": REASON_STOP_LOSS,
        "stop_limit": REASON_STOP_LOSS,
        "trailing_stop": REASON_TRAILING,
        "limit": REASON_TAKE_PROFIT,
    }.get(o.type, REASON_SIGNAL)


def number_or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value

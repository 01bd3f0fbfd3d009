"""Grid bot (`grid_bot`): resting buy limits below a centre and sell limits above it, each fill re-armed one level
over, for ranging markets such as BTC on 1-minute bars.

The grid. Level k of a grid centred at c is the price c x (1 + k x spacing_pct / 100) (k < 0 below the centre):
levels are one spacing, c x spacing_pct / 100, apart. The first close is the first centre; every order of a grid
is one lot, `order_size` x the equity at centring / the centre (split over the symbols).

Rules, per symbol:
- A new grid places buy limits at levels -1 .. -n (and, with `allow_short`, sell limits at +1 .. +n), n =
  min(`levels`, `max_inventory`): only the nearest `max_inventory` levels of each side are armed.
- A filled buy at level k re-arms a sell limit at level k + 1; a filled sell at level k re-arms a buy at k - 1.
  So lots held plus buy limits resting stay n (likewise shorts and sell limits): the inventory never exceeds
  `max_inventory` lots, and every sell closes a buy one spacing below it (a round trip earns the spacing).
- A re-armed order is placed at the close of the bar that filled its pair, active from the next bar: one bar's
  open-high-low-close cannot tell whether the price came back after the fill, and re-arming within the bar would
  let the simulator fill the pair back and forth inside one range (engine.sim.event.book).
- When a close leaves the grid (beyond level +/-`levels`) by more than `recenter_pct` percent, the grid is cancelled,
  the inventory closed with a market order, and a new grid centred at that close.
A rejected order (not enough buying power) is not retried: its slot stays empty until the next re-centring.

State: each symbol's centre and lot live in `ctx.state` (what the live loop persists), and a filled order's level is
read back from its limit price (`ctx.broker.order(client order id)`), not from a map of order ids: so a restarted
live loop re-arms the fills of orders placed before the restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.strategies.base import param, require
from engine.strategies.event_units import units
from engine.strategies.events import EventStrategy

if TYPE_CHECKING:  # annotations only: a backtest importing the registry needs no order types
    from engine.orders.values import Fill

STATE_KEY = "grid_bot"
LEVEL_TOLERANCE = 1e-6
"""A limit price is grid level k when (price / centre - 1) / step is within this of the whole number k."""


@dataclass(frozen=True)
class Grid:
    """One symbol's grid: its centre and lot (units per order) and the step between levels (spacing_pct / 100)."""

    center: float
    lot: float
    step: float

    def price(self, k: int) -> float:
        return self.center * (1.0 + k * self.step)

    def level(self, price: float) -> int | None:
        """The level k whose price is `price`, or None (an order of another grid)."""
        k = (price / self.center - 1.0) / self.step
        return round(k) if abs(k - round(k)) <= LEVEL_TOLERANCE else None


class GridBot(EventStrategy):
    """Grid of limit orders around a centre, re-armed on fills (see the module doc)."""

    name = "grid_bot"
    description = "Grid of buy limits below and sell limits above a centre, re-armed one level over on each fill."

    @dataclass(frozen=True)
    class Params:
        levels: int = param(5, 1, 20, 1, doc="grid levels on each side of the centre")
        spacing_pct: float = param(0.25, 0.05, 2.0, 0.05, doc="distance between levels, percent of the centre")
        order_size: float = param(0.05, 0.01, 0.1, 0.01, doc="one order (a lot), fraction of equity at centring")
        max_inventory: int = param(5, 1, 10, 1, doc="most lots held at once on one side")
        recenter_pct: float = param(1.0, 0.0, 5.0, 0.5, doc="re-centre when a close is this far outside the grid, %")
        allow_short: bool = param(False, choices=(False, True), doc="also sell limits above the centre (shorts)")

        def __post_init__(self) -> None:
            require(self.levels >= 1, f"levels must be >= 1, got {self.levels}")
            require(self.spacing_pct > 0, f"spacing_pct must be > 0, got {self.spacing_pct}")
            require(
                self.levels * self.spacing_pct < 100,
                f"levels x spacing_pct must stay below 100 % (the lowest level above 0), got {self.levels} x "
                f"{self.spacing_pct}",
            )
            require(0 < self.order_size <= 1, f"order_size must be in (0, 1], got {self.order_size}")
            require(self.max_inventory >= 1, f"max_inventory must be >= 1, got {self.max_inventory}")
            require(self.recenter_pct >= 0, f"recenter_pct must be >= 0, got {self.recenter_pct}")

    def on_start(self, ctx: Any) -> None:
        self.share = self.params.order_size / len(ctx.symbols)
        self.due: dict[str, list[tuple[str, int, float]]] = {}  # per symbol: (side, level, quantity) to place

    def on_bar(self, bar: Any, ctx: Any) -> None:
        sym = bar.symbol
        grid = self._grid(sym, ctx)
        due = self.due.pop(sym, [])
        if grid is None or self._outside(grid, bar.close):
            if grid is not None:
                ctx.close(sym)  # cancels the grid's orders, sells (or covers) the inventory at the next open
            self._build(sym, bar.close, ctx)
            return
        for side, k, quantity in due:
            self._place(grid, sym, side, k, quantity, ctx)

    def on_fill(self, fill: Fill, ctx: Any) -> None:
        grid = self._grid(fill.symbol, ctx)
        order = ctx.broker.order(fill.client_order_id)
        if grid is None or order is None or order.type != "limit" or order.limit_price is None:
            return  # not a grid order (the re-centring's market close)
        k = grid.level(order.limit_price)
        if k is None:
            return  # an order of a grid replaced since (its cancel crossed the fill)
        opposite = ("sell", k + 1) if fill.side == "buy" else ("buy", k - 1)
        self.due.setdefault(fill.symbol, []).append((*opposite, fill.quantity))

    # ------------------------------------------------------------------------------------------ internals
    def _grid(self, sym: str, ctx: Any) -> Grid | None:
        saved = ctx.state.get(STATE_KEY, {}).get(sym)
        return None if saved is None else Grid(saved["center"], saved["lot"], self.params.spacing_pct / 100.0)

    def _outside(self, grid: Grid, close: float) -> bool:
        p = self.params
        margin = p.recenter_pct / 100.0
        return close > grid.price(p.levels) * (1.0 + margin) or close < grid.price(-p.levels) * (1.0 - margin)

    def _build(self, sym: str, center: float, ctx: Any) -> None:
        p = self.params
        lot = units(ctx, sym, self.share * ctx.equity, center, f"{self.name} (order_size {p.order_size})")
        grid = Grid(center=center, lot=lot, step=p.spacing_pct / 100.0)
        ctx.state.setdefault(STATE_KEY, {})[sym] = {"center": center, "lot": lot}
        armed = min(p.levels, p.max_inventory)
        for k in range(1, armed + 1):
            self._place(grid, sym, "buy", -k, lot, ctx)
            if p.allow_short:
                self._place(grid, sym, "sell", k, lot, ctx)

    def _place(self, grid: Grid, sym: str, side: str, k: int, quantity: float, ctx: Any) -> None:
        ctx.order(side, quantity, "limit", sym, limit_price=grid.price(k), time_in_force="gtc")

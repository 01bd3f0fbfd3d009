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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.errors import StrategyError
from engine.orders.values import Fill
from engine.strategies.base import param, require
from engine.strategies.events import EventStrategy


@dataclass
class Grid:
    """One symbol's grid: centre, lot, the level of each grid order by id, and the re-arms due at the close."""

    center: float
    lot: float
    step: float  # spacing_pct / 100
    levels: dict[str, int] = field(default_factory=dict)
    due: list[tuple[str, int, float]] = field(default_factory=list)  # (side, level, quantity) to place at the close

    def price(self, k: int) -> float:
        return self.center * (1.0 + k * self.step)


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
        self.grids: dict[str, Grid] = {}
        self.share = self.params.order_size / len(ctx.symbols)

    def on_bar(self, bar: Any, ctx: Any) -> None:
        sym = bar.symbol
        grid = self.grids.get(sym)
        if grid is None or self._outside(grid, bar.close):
            if grid is not None:
                ctx.close(sym)  # cancels the grid's orders, sells (or covers) the inventory at the next open
            self._build(sym, bar.close, ctx)
            return
        for side, k, quantity in grid.due:
            self._place(grid, sym, side, k, quantity, ctx)
        grid.due.clear()

    def on_fill(self, fill: Fill, ctx: Any) -> None:
        grid = self.grids.get(fill.symbol)
        k = None if grid is None else grid.levels.get(fill.order_id)
        if grid is None or k is None:
            return  # not a grid order (the re-centring's market close)
        if fill.side == "buy":
            grid.due.append(("sell", k + 1, fill.quantity))
        else:
            grid.due.append(("buy", k - 1, fill.quantity))

    # ------------------------------------------------------------------------------------------ internals
    def _outside(self, grid: Grid, close: float) -> bool:
        p = self.params
        margin = p.recenter_pct / 100.0
        return close > grid.price(p.levels) * (1.0 + margin) or close < grid.price(-p.levels) * (1.0 - margin)

    def _build(self, sym: str, center: float, ctx: Any) -> None:
        p = self.params
        lot = self.share * ctx.equity / center
        if not ctx.broker.fractionable([sym]).get(sym, True):
            lot = math.floor(lot)
            if lot < 1:
                raise StrategyError(
                    f"{self.name}: order_size {p.order_size} of the equity buys less than one whole unit of {sym} "
                    f"at {center:g}; allow fractional units or raise order_size"
                )
        grid = Grid(center=center, lot=lot, step=p.spacing_pct / 100.0)
        self.grids[sym] = grid
        armed = min(p.levels, p.max_inventory)
        for k in range(1, armed + 1):
            self._place(grid, sym, "buy", -k, lot, ctx)
            if p.allow_short:
                self._place(grid, sym, "sell", k, lot, ctx)

    def _place(self, grid: Grid, sym: str, side: str, k: int, quantity: float, ctx: Any) -> None:
        order_id = ctx.order(side, quantity, "limit", sym, limit_price=grid.price(k), time_in_force="gtc")
        grid.levels[order_id] = k

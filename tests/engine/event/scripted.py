"""A scripted event strategy and hand-made bars for the simulator's rule tests (every price worked out by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.sim.event.run import run_event_backtest
from engine.sim.event.settings import Execution
from engine.sim.result import BacktestResult
from engine.strategies.events import EventStrategy


def bars(rows: list[tuple[float, float, float, float]], volume: float = 1e9, start: str = "2024-01-01") -> MarketData:
    """Daily bars of one symbol "X" from (open, high, low, close) rows."""
    index = pd.date_range(start, periods=len(rows), freq="D")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = volume
    return MarketData.from_frames({"X": frame})


class Script(EventStrategy):
    """Places the orders of `plan[bar]` (ctx.order keyword arguments) at the close of that bar; records callbacks."""

    name = "script"

    @dataclass(frozen=True)
    class Params:
        pass

    def __init__(
        self, plan: dict[int, list[dict[str, Any]]], on_fill_plan: dict[str, list[dict[str, Any]]] | None = None
    ):
        super().__init__()
        self.plan, self.on_fill_plan = plan, on_fill_plan or {}
        self.fills: list[Any] = []
        self.updates: list[Any] = []
        self.ids: dict[int, list[str]] = {}

    def on_bar(self, bar: Any, ctx: Any) -> None:
        for order in self.plan.get(bar.index, []):
            order = dict(order)
            if "cancel" in order:
                ctx.cancel(self.ids[order["cancel"][0]][order["cancel"][1]])
                continue
            if "modify" in order:
                where = order.pop("modify")
                ctx.modify(self.ids[where[0]][where[1]], **order)
                continue
            side, qty = order.pop("side"), order.pop("quantity")
            self.ids.setdefault(bar.index, []).append(ctx.order(side, qty, **order))

    def on_fill(self, fill: Any, ctx: Any) -> None:
        self.fills.append(fill)
        for order in self.on_fill_plan.get(fill.side, []):
            order = dict(order)
            ctx.order(order.pop("side"), order.pop("quantity"), **order)

    def on_order(self, update: Any, ctx: Any) -> None:
        self.updates.append(update)


def run(
    data: MarketData, strategy: Script, execution: Execution | None = None, **config: Any
) -> tuple[BacktestResult, pd.DataFrame]:
    """The run and its fills (bar position, signed quantity, price, commission, reason)."""
    result = run_event_backtest(data, strategy, BacktestConfig(**config), execution)
    fills = result.fills.copy()
    fills["bar"] = data.index.get_indexer(fills["time"])
    return result, fills[["bar", "quantity", "price", "commission", "reason"]].reset_index(drop=True)

"""The second kind of strategy (DESIGN §4): `EventStrategy` reacts to bars, fills and order updates.

Where a weights strategy (engine.strategies.base.Strategy) returns target weights for the whole history at once,
an event strategy is called bar by bar and places real orders (market, limit, stop, stop-limit, trailing stop,
bracket, OCO; engine.orders) through its context `ctx`. The same class runs in an event backtest
(engine.sim.event.run, against the simulated broker) and in the live loop (against a paper, Alpaca or IBKR
adapter): it never knows which.

Hooks, in order: `on_start(ctx)` once (declare indicators with `ctx.indicator`), then for every bar of every symbol
`on_bar(bar, ctx)` after that bar's close; `on_fill(fill, ctx)` and `on_order(update, ctx)` whenever one of its
orders fills or changes state (during the bar that fills it); `on_stop(ctx)` once at the end. `ctx` shows the
history up to the current bar only (engine.sim.event.context).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from engine.errors import ConfigError
from engine.strategies.base import make_params

if TYPE_CHECKING:
    from engine.orders.values import Fill, OrderStatus


class EventStrategy:
    """Base class of an event-driven strategy: set `name`, `Params` (a frozen dataclass built with
    engine.strategies.base.param, so the optimizer reads its bounds) and `description`; implement `on_bar`."""

    name: ClassVar[str]
    Params: ClassVar[type]
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "event"

    def __init__(self, params: Any = None) -> None:
        if params is None:
            params = self.Params()
        elif isinstance(params, Mapping):
            params = make_params(self.Params, params)
        elif not isinstance(params, self.Params):
            raise ConfigError(
                f"{self.name}: params must be {self.Params.__name__} or a mapping, got {type(params).__name__}"
            )
        self.params = params

    def on_start(self, ctx: Any) -> None:
        """Before the first bar: declare indicators (`ctx.indicator`) and initial state."""

    def on_bar(self, bar: Any, ctx: Any) -> None:
        """After the close of `bar` (one symbol's bar; `bar.symbol`): decide, place, modify or cancel orders."""
        raise NotImplementedError(f"{type(self).__name__} must implement on_bar(bar, ctx)")

    def on_fill(self, fill: Fill, ctx: Any) -> None:
        """One of the strategy's orders filled (`fill.quantity` units at `fill.price`), within the current bar."""

    def on_order(self, update: OrderStatus, ctx: Any) -> None:
        """One of the strategy's orders changed state: placed, modified, canceled, expired, rejected or filled."""

    def on_stop(self, ctx: Any) -> None:
        """After the last bar (a backtest) or when the live loop stops."""

    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params_dict().items())
        return f"{type(self).__name__}({args})"

"""`WeightsAsEvents`: any weights strategy run in event mode (`ivybt backtest --mode event`).

At the close of each bar the strategy's target weight of a symbol (after the per-position cap and the gross
leverage scaling of the vectorized kernel) is compared with the last one; a change sends a percent-of-equity market
order. Its stops (the strategy's `stop_fractions`, else the config's stop-loss / take-profit / trailing fractions)
become resting orders when an entry fills: a stop, a trailing stop and a take-profit limit, the first to fill
cancelling the others. So a weights strategy trades real orders in the simulator, and later live.

Differences from the vectorized run: rebalancing runs "on_change" only (a scheduled rebalance or a drift threshold
is refused), and a target that changes on a bar where the symbol has none (leverage scaling across calendars) is
acted on at the symbol's next close instead of its next open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.config import BacktestConfig
from engine.errors import ConfigError
from engine.orders.values import Fill
from engine.strategies.base import Strategy
from engine.strategies.boundary import call_strategy
from engine.strategies.common import ffill
from engine.strategies.events import EventStrategy

STOP_KEYS = ("stop_loss", "take_profit", "trailing_stop")


class WeightsAsEvents(EventStrategy):
    """A weights strategy's decisions as orders (see the module doc)."""

    name = "weights_as_events"

    @dataclass(frozen=True)
    class Params:
        pass

    def __init__(self, strategy: Strategy, config: BacktestConfig) -> None:
        super().__init__()
        if config.rebalance != "on_change" or config.drift_threshold:
            raise ConfigError(
                f"event mode trades a weights strategy on changes of its targets only: rebalance={config.rebalance!r}"
                f", drift_threshold={config.drift_threshold!r} are for the vectorized mode"
            )
        self.inner, self.config = strategy, config
        self.name = strategy.name  # type: ignore[misc]  # the run is the inner strategy's

    def params_dict(self) -> dict[str, Any]:
        return self.inner.params_dict()

    def on_start(self, ctx: Any) -> None:
        data = ctx.data
        values = call_strategy(self.inner, "weight_values", data)
        if values is None:
            frame = call_strategy(self.inner, "target_weights", data)
            values = frame.reindex(index=data.index, columns=data.close.columns).to_numpy(dtype=np.float64)
        targets = self._caps(np.asarray(values, dtype=np.float64), ~np.isnan(data.close.to_numpy(dtype=np.float64)))
        stops = self._stops(data)
        self.targets = {sym: ctx.aligned(targets[:, j], "target") for j, sym in enumerate(ctx.symbols)}
        self.stops = {sym: [ctx.aligned(s[:, j], key) for key, s in stops.items()] for j, sym in enumerate(ctx.symbols)}
        self.keys = list(stops)
        self.last = dict.fromkeys(ctx.symbols, 0.0)
        self.entry_stops: dict[str, dict[str, float]] = {}

    def _caps(self, raw: np.ndarray, has_bar: np.ndarray) -> np.ndarray:
        """The kernel's decision per bar: a symbol without a bar keeps its target; NaN = 0; per-position cap, then
        the gross leverage scaling."""
        carried = np.where(has_bar, np.nan_to_num(raw, nan=0.0), np.nan)
        carried = np.nan_to_num(np.apply_along_axis(ffill, 0, carried), nan=0.0)
        cap = self.config.risk.max_position
        if cap is not None:
            carried = np.clip(carried, -cap, cap)
        gross = np.abs(carried).sum(axis=1)
        lev = float(self.config.risk.max_leverage)
        scale = np.where(gross > lev, lev / np.where(gross > 0, gross, 1.0), 1.0)
        return carried * scale[:, None]

    def _stops(self, data: Any) -> dict[str, np.ndarray]:
        """Stop distances per bar and symbol (fractions of the entry price), only those switched on."""
        custom = call_strategy(self.inner, "stop_fractions", data) or {}
        out = {}
        for key in STOP_KEYS:
            if key in custom:
                out[key] = custom[key].reindex(index=data.index, columns=data.close.columns).to_numpy(dtype=np.float64)
            elif getattr(self.config.risk, key) is not None:
                out[key] = np.full(data.close.shape, float(getattr(self.config.risk, key)))
        return out

    def on_bar(self, bar: Any, ctx: Any) -> None:
        sym = bar.symbol
        target = self.targets[sym][0]
        if abs(target - self.last[sym]) <= 1e-12:  # the kernel's change test (float noise of the scaling)
            return
        self.last[sym] = target
        self.entry_stops[sym] = {key: line[0] for key, line in zip(self.keys, self.stops[sym], strict=True)}
        ctx.order_target_percent(target, sym)

    def on_fill(self, fill: Fill, ctx: Any) -> None:
        sym = fill.symbol
        held = ctx.position(sym)
        if held == 0.0:  # flat: whatever exits are left go
            for order in ctx.open_orders(sym):
                ctx.cancel(order.id)
            return
        before = held - (fill.quantity if fill.side == "buy" else -fill.quantity)
        if before != 0.0 and (before > 0) == (held > 0):
            return  # added to or reduced a position: its exits stay as they are
        for order in ctx.open_orders(sym):  # a flip: the old side's exits go
            ctx.cancel(order.id)
        self._exits(sym, held, fill.price, ctx)

    def _exits(self, sym: str, held: float, price: float, ctx: Any) -> None:
        side, qty, long = ("sell" if held > 0 else "buy"), abs(held), held > 0
        sign = 1.0 if long else -1.0
        stops = self.entry_stops.get(sym, {})
        sl, tp, ts = (stops.get(k, np.nan) for k in STOP_KEYS)
        if sl == sl:
            ctx.order(side, qty, "stop", sym, stop_price=price * (1.0 - sign * sl), time_in_force="gtc")
        if ts == ts:
            ctx.order(side, qty, "trailing_stop", sym, trail_percent=ts * 100.0, time_in_force="gtc")
        if tp == tp:
            ctx.order(side, qty, "limit", sym, limit_price=price * (1.0 + sign * tp), time_in_force="gtc")

"""`LiveLoop`: an event strategy on bars as they close, against a real broker, restartable at any moment.

Start: the strategy's `on_start` on the bars known now, then a warm-up (brokers.live.guard.DryBroker: decisions
recorded, never sent) over the bars already processed (a restart: up to the stored last bar) or over the whole
history (a new session: the bars before it began), so the strategy's own attributes are what they were; the
persisted `ctx.state` is put back; a restart reconciles the stored snapshot with the broker (positions, open
orders by client order id: one audit `reconcile` line). Then, until the feed ends or `stop` is set:

1. poll the broker: new fills -> `on_fill`, status changes -> `on_order` (brokers.live.follow: each once);
2. bars of the feed after the last processed one, in order: `ctx.refresh(data)`, `ctx.i` = the bar, `on_bar` for
   each symbol with a bar there (orders through brokers.live.guard.GuardedBroker: kill switch, risk, audit);
   after each bar the state is saved (brokers.live.state): last bar, positions, open orders, `ctx.state`;
3. wait for the feed.

Crash-safety: the state of a bar is saved after its orders were sent. A process killed in between processes that
bar again after the restart; its orders carry the same client order ids (engine.sim.event.context), which the
broker already has: nothing is sent twice (a target-sized order usually finds nothing left to trade).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from brokers.base import Broker
from brokers.live.feed import BarFeed
from brokers.live.follow import OrderFollower
from brokers.live.guard import DryBroker, GuardedBroker
from brokers.live.state import LiveState, LiveStore
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.ops.audit_log import AuditLog
from engine.sim.event.context import Context
from engine.strategies.events import EventStrategy


@dataclass
class LiveBar:
    """One symbol's closed bar as `on_bar` receives it (the fields of engine.sim.event.context.Bar)."""

    symbol: str
    index: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    time: pd.Timestamp


class LiveLoop:
    """One session of `strategy` on `broker` (see the module doc). `run()` returns the bars processed now."""

    def __init__(
        self,
        strategy: EventStrategy,
        broker: GuardedBroker,
        feed: BarFeed,
        state: LiveState,
        tag: str,
        store: LiveStore,
        log: AuditLog,
        stop: threading.Event | None = None,
        lease_lost: Callable[[], bool] = lambda: False,
    ) -> None:
        self.strategy, self.broker, self.feed, self.state, self.tag = strategy, broker, feed, state, tag
        self.store, self.log = store, log
        self.stop = stop or threading.Event()
        self.lease_lost = lease_lost
        self.follower = OrderFollower(broker, tag, state.followed)
        self.processed = 0

    # ------------------------------------------------------------------------------------------ run
    def run(self) -> int:
        data = self.feed.current()
        restart = self.state.last_bar is not None
        warm_until = pd.Timestamp(self.state.last_bar) if restart else data.index[-1]
        if warm_until > data.index[-1]:
            raise ConfigError(
                f"live {self.state.session}: the last processed bar {self.state.last_bar} is after the data's last bar "
                f"{_iso(data.index[-1])}: is this the same data?"
            )
        dry = DryBroker(self.broker, lambda sym: _close_at(data, sym, self._ctx.i))
        self._ctx = ctx = Context(dry, data, self.tag)
        self.strategy.on_start(ctx)
        warmed = self._warm_up(ctx, data, warm_until)
        ctx.state.clear()
        ctx.state.update(self.state.strategy_state)
        self._go_live(ctx)
        if restart:
            self._reconcile(warmed)
        else:
            self.follower.seed()
            self.state.last_bar = _iso(warm_until)
            self._note(f"session started after {warmed} bars of history (last {self.state.last_bar})", "execute")
        self._save()
        while not self._halted():
            self._deliver()
            data = self.feed.current()
            fresh = data.index[data.index > pd.Timestamp(self.state.last_bar)]
            if len(fresh):
                ctx.refresh(data)
                for when in fresh:
                    if self._halted():
                        break
                    self._bar(ctx, data, int(data.index.get_loc(when)))
            if self._halted() or not self.feed.wait():
                break
        self._deliver()
        self.strategy.on_stop(ctx)
        return self.processed

    def _halted(self) -> bool:
        """Stop asked for, or the lease lost (this process stalled past it and another loop took over)."""
        if self.lease_lost() and not self.stop.is_set():
            self._note("the lease was taken by another process: stopping here", "error")
            self.stop.set()
        return self.stop.is_set()

    # ------------------------------------------------------------------------------------------ steps
    def _warm_up(self, ctx: Context, data: MarketData, until: pd.Timestamp) -> int:
        """`on_bar` over the bars up to `until` with the dry broker; returns how many bars."""
        count = int(data.index.searchsorted(until, side="right"))
        for t in range(count):
            self._on_bars(ctx, data, t)
        return count

    def _go_live(self, ctx: Context) -> None:
        """From now on the strategy's orders go to the guarded broker."""
        ctx.use_broker(self.broker)

    def _bar(self, ctx: Context, data: MarketData, t: int) -> None:
        """Process bar `t` live, then save the state."""
        when = data.index[t]
        self.broker.sent.clear()
        self.broker.snapshot_equity()
        self._on_bars(ctx, data, t)
        sent, refused = list(self.broker.sent), [u.client_order_id for u in self.broker.refused]
        self._deliver_refused()
        closes = ", ".join(
            f"{s} {data.close[s].iloc[t]:g}" for s in ctx.symbols if not math.isnan(data.close[s].iloc[t])
        )
        parts = ([f"sent {', '.join(sent)}"] if sent else []) + ([f"refused {', '.join(refused)}"] if refused else [])
        decision = f"bar {_iso(when)} ({closes}): " + ("; ".join(parts) or "no order")
        self.state.last_bar, self.state.bars_processed = _iso(when), self.state.bars_processed + 1
        self.state.last_decision = decision
        self.processed += 1
        self._note(decision, "signal", {"bar": _iso(when), "sent": sent, "refused": refused})
        self._save()

    def _on_bars(self, ctx: Context, data: MarketData, t: int) -> None:
        """`on_bar` for every symbol with a bar at `t`, in column order (as the event backtest)."""
        ctx.i = t
        when = data.index[t]
        for sym in ctx.symbols:
            c = float(data.close[sym].iloc[t])
            if math.isnan(c):
                continue
            ctx.symbol = sym
            bar = LiveBar(
                sym,
                t,
                float(data.open[sym].iloc[t]),
                float(data.high[sym].iloc[t]),
                float(data.low[sym].iloc[t]),
                c,
                float(data.volume[sym].iloc[t]),
                when,
            )
            self.strategy.on_bar(bar, ctx)

    def _deliver(self) -> None:
        """Poll the broker; hand new fills and order updates to the strategy (each once), audited."""
        fills, updates = self.follower.poll()
        for fill in fills:
            self.log.event(
                "fill",
                f"live {self.state.session}: {fill.side} {fill.quantity:g} {fill.symbol} at {fill.price:,.4f}",
                client_order_id=fill.client_order_id,
                symbol=fill.symbol,
                payload={
                    "session": self.state.session,
                    "fill_id": fill.id,
                    "order_id": fill.order_id,
                    "symbol": fill.symbol,
                    "side": fill.side,
                    "quantity": fill.quantity,
                    "price": fill.price,
                    "time": pd.Timestamp(fill.timestamp).isoformat(),
                },
            )
            self.strategy.on_fill(fill, self._ctx)
        for update in updates:
            self.strategy.on_order(update, self._ctx)
        self._deliver_refused()
        if fills or updates:
            self._save()

    def _deliver_refused(self) -> None:
        refused, self.broker.refused = self.broker.refused, []
        for update in refused:
            self.strategy.on_order(update, self._ctx)

    def _reconcile(self, warmed: int) -> None:
        """Compare the stored snapshot with the broker after a restart: one audit line with the differences."""
        held = _positions(self.broker, self._ctx.symbols)
        open_now = self.follower.open_ids()
        moved = {
            s: (self.state.positions.get(s, 0.0), held.get(s, 0.0))
            for s in sorted(set(held) | set(self.state.positions))
            if abs(held.get(s, 0.0) - self.state.positions.get(s, 0.0)) > 1e-9
        }
        gone = sorted(set(self.state.open_orders) - set(open_now))
        new = sorted(set(open_now) - set(self.state.open_orders))
        self._note(
            f"restart after bar {self.state.last_bar} ({self.state.bars_processed} bars processed, {warmed} warmed up):"
            f" positions {'unchanged' if not moved else 'changed ' + str(moved)}; open orders at the broker "
            f"{open_now or 'none'}"
            + (f"; closed since: {gone}" if gone else "")
            + (f"; not on record: {new}" if new else ""),
            "reconcile",
            {"positions": held, "recorded_positions": self.state.positions, "open": open_now, "gone": gone, "new": new},
        )

    def _save(self) -> None:
        self.state.positions = _positions(self.broker, self._ctx.symbols)
        self.state.open_orders = self.follower.open_ids()
        self.state.strategy_state = dict(self._ctx.state)
        self.store.save(self.state)

    def _note(self, message: str, kind: str, payload: dict | None = None) -> None:
        self.log.event(
            kind, f"live {self.state.session}: {message}", payload={"session": self.state.session, **(payload or {})}
        )


def _positions(broker: Broker, symbols: list[str]) -> dict[str, float]:
    return {p.symbol: float(p.quantity) for p in broker.positions() if p.symbol in symbols and p.quantity != 0.0}


def _close_at(data: MarketData, symbol: str, t: int) -> float:
    col = data.close[symbol].iloc[: max(t, 0) + 1].dropna()
    return float(col.iloc[-1]) if len(col) else float("nan")


def _iso(when: pd.Timestamp) -> str:
    return pd.Timestamp(when).isoformat()

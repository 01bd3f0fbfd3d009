"""One live session of a preset on a broker: `run_live(LiveOptions(...))`, what `ivybt live` and the Desk start.

It loads the preset (its `strategy` an event strategy: engine.strategies.registry.EVENT_BUILTINS), makes the
broker (paper by default; the paper broker with the preset's costs), refuses a LIVE account unless confirmed
(`yes_live`, the rule of `ivybt rebalance --execute --yes-live`; the adapters' own IVYBT_ALLOW_LIVE=1 opt-in
still applies), takes the session's lease (the plans-table lease of engine.ops.lease: one loop per preset and
broker; a holder that died on this machine is taken over, a live one is named in `LoopBusy`), and runs the
loop (brokers.live.loop) on its feed: a replay of the preset's data (`replay=(START, END)`, paced), or the
workspace data polled every `poll` seconds (with `bars="broker"`, first imported from the broker's bar source).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from brokers import make_broker
from brokers.base import Broker, BrokerConfigError, BrokerError
from brokers.live.feed import BarFeed, PollingFeed, ReplayFeed
from brokers.live.guard import GuardedBroker
from brokers.live.loop import LiveLoop
from brokers.live.state import LiveState, LiveStore, session_key
from brokers.refresh import bar_source, close_source, refresh_bars
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.ops.audit_log import AuditLog
from engine.ops.lease import Heartbeat, lease_seconds
from engine.ops.risk import load_limits
from engine.store.presets import Preset, load_preset
from engine.strategies.events import EventStrategy
from engine.strategies.registry import EVENT_BUILTINS, create_event_strategy, is_event_strategy

BAR_ORIGINS: tuple[str, ...] = ("workspace", "broker")


class LoopBusy(BrokerError):
    """Another process runs the live loop of this preset and broker (its lease is held and alive)."""


@dataclass(frozen=True)
class LiveOptions:
    """What to run: preset, broker, replay range (START, END or None) and pace, poll interval, bar origin."""

    preset: str
    broker: str = "paper"
    replay: tuple[str, str | None] | None = None
    pace: float = 0.0
    poll: float = 60.0
    bars: str = "workspace"
    yes_live: bool = False
    wait_lease: float = 0.0


def live_tag(preset: str, broker: str) -> str:
    """The client order id prefix of a preset's loop on a broker: short, so ids stay under the venue's limit."""
    return "lv" + hashlib.sha1(f"{preset}@{broker}".encode()).hexdigest()[:6]


def lease_id(preset: str, broker: str) -> str:
    """The plans-table row whose lease one running loop of (preset, broker) holds (replay or not)."""
    return "live:" + session_key(preset, broker)


def event_preset(name: str) -> Preset:
    """The preset `name`, whose strategy must be an event strategy (ConfigError names the known ones)."""
    preset = load_preset(name)
    if not is_event_strategy(preset.strategy):
        raise ConfigError(
            f"preset {preset.name!r}: strategy {preset.strategy!r} is not an event strategy; the live loop runs "
            f"one of {', '.join(EVENT_BUILTINS)}"
        )
    return preset


def run_live(opts: LiveOptions, stop: threading.Event | None = None) -> LiveState:
    """Run one session to its end (replay over, or `stop` set); returns its final state. Raises ConfigError,
    BrokerConfigError (LIVE account without `yes_live`), LoopBusy or the broker's errors."""
    stop = stop or threading.Event()
    if opts.bars not in BAR_ORIGINS:
        raise ConfigError(f"live: bars {opts.bars!r} is not one of {BAR_ORIGINS}")
    preset = event_preset(opts.preset)
    strategy = create_event_strategy(preset.strategy, preset.params)
    symbols = list(preset.to_request().symbols)
    broker_name = opts.broker.strip().lower()
    key = session_key(preset.name, broker_name, opts.replay is not None)
    store, log = LiveStore(), AuditLog()
    state = store.load(key) or LiveState(key, preset.name, broker_name, replay=opts.replay is not None)
    replay: ReplayFeed | None = None
    if opts.replay is not None:
        start, end = opts.replay
        data = load_market_data(symbols, start=preset.start, end=end, source=preset.data_source)
        replay = ReplayFeed(data, start, end, opts.pace, sleep=stop.wait)
        if state.last_bar:
            replay.resume(state.last_bar)
    broker = _broker(broker_name, preset, replay)
    try:
        account = broker.account()
        if broker.is_live or account.is_live:
            if not opts.yes_live:
                err = BrokerConfigError(
                    f"{broker.name} account {account.account_id} is LIVE: add --yes-live to run the live loop "
                    f"(nothing was sent)"
                )
                log.event("error", f"live {key} refused: {err}", payload={"session": key, "error": "BrokerConfigError"})
                raise err
        feed: BarFeed = (
            replay
            if replay is not None
            else PollingFeed(_loader(preset, symbols, broker_name, broker, opts.bars), opts.poll, stop)
        )
        lid, owner = lease_id(preset.name, broker_name), f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        payload = {"kind": "live_loop", "session": key}
        log.record_plan(lid, preset.name, broker_name, account.account_id, datetime.now(UTC), True, payload)
        seconds = lease_seconds()
        _take_lease(log, lid, owner, seconds, opts.wait_lease, key)
        try:
            with Heartbeat(log, lid, owner, seconds) as beat:
                return _run(strategy, broker, feed, state, preset, account.account_id, store, log, stop, beat)
        finally:
            log.release_lease(lid, owner)
    finally:
        broker.close()


def _run(
    strategy: EventStrategy,
    broker: Broker,
    feed: BarFeed,
    state: LiveState,
    preset: Preset,
    account_id: str,
    store: LiveStore,
    log: AuditLog,
    stop: threading.Event,
    beat: Heartbeat,
) -> LiveState:
    state.pid, state.status, state.account_id = os.getpid(), "running", account_id
    guarded = GuardedBroker(broker, log, state.session, load_limits())
    tag = live_tag(preset.name, state.broker)
    loop = LiveLoop(strategy, guarded, feed, state, tag, store, log, stop, lease_lost=lambda: beat.lost)
    try:
        loop.run()
    except BaseException as e:
        state.status, state.last_decision = "failed", f"failed: {type(e).__name__}: {e}"
        store.save(state)
        log.event(
            "error",
            f"live {state.session} stopped by an error: {type(e).__name__}: {e}",
            payload={"session": state.session},
        )
        raise
    state.status = "stopped" if stop.is_set() else "finished"
    store.save(state)
    log.event(
        "execute",
        f"live {state.session}: {state.status} after bar {state.last_bar}",
        payload={"session": state.session},
    )
    return state


def _broker(name: str, preset: Preset, replay: ReplayFeed | None) -> Broker:
    """The adapter; the paper broker with the preset's costs (and, in a replay, the replay's prices and bars)."""
    if name != "paper":
        return make_broker(name)
    extra = {} if replay is None else {"price_source": _ReplayPrices(replay), "bar_source": replay.bars}
    return make_broker("paper", costs=preset.backtest_config().costs, **extra)


class _ReplayPrices:
    """The paper broker's prices in a replay: each symbol's close at the bar being processed."""

    def __init__(self, feed: ReplayFeed) -> None:
        self.feed = feed

    def __call__(self, symbols: list[str]) -> dict[str, float]:
        return {s: self.feed.last_close(s) for s in symbols}


def _loader(preset: Preset, symbols: list[str], name: str, broker: Broker, bars: str) -> Callable[[], MarketData]:
    """The polling feed's loader: the workspace data, first refreshed from the broker's bar source if asked."""

    def load() -> MarketData:
        if bars == "broker":
            source = bar_source(name, symbols, preset.start, broker)
            try:
                refresh_bars(source, symbols)
            finally:
                close_source(source)
        return load_market_data(symbols, start=preset.start, source=preset.data_source)

    return load


def _take_lease(log: AuditLog, lid: str, owner: str, seconds: float, wait: float, key: str) -> None:
    """Take the loop's lease; a holder that died on this machine is released; a live one is LoopBusy."""
    deadline = time.monotonic() + max(wait, 0.0)
    while not log.acquire_lease(lid, owner, seconds=seconds):
        row = log.plan(lid) or {}
        holder = str(row.get("lease_owner") or "")
        if holder and _dead_here(holder):
            log.release_lease(lid, holder)
            log.event(
                "reconcile",
                f"live {key}: the lease of {holder} (a process that ended) was released",
                payload={"session": key},
            )
            continue
        if time.monotonic() >= deadline:
            raise LoopBusy(
                f"the live loop of {key.split(':')[0]} is already running: held by {holder or '?'} (until "
                f"{row.get('lease_until') or '?'}); stop it first"
            )
        time.sleep(0.1)


def _dead_here(owner: str) -> bool:
    """True if `owner` ("host:pid:nonce") is a process of this machine that is no longer running."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not process_alive(int(pid_text))


def process_alive(pid: int) -> bool:
    """Is process `pid` running (a zombie, ended but not reaped, is not)?"""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

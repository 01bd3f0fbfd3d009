"""`ivybt live --replay` as a real process against the paper broker (real SQLite): the orders equal an event
backtest's decisions bar by bar; the kill switch sends nothing and says so; a second loop of the same preset and
broker is refused naming the holder; SIGTERM stops a loop cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess

import pytest

from brokers.live.session import lease_id
from brokers.live.state import LiveStore
from brokers.paper.adapter import PaperBroker
from engine.config import Costs
from engine.data import load_market_data
from engine.ops.audit_log import AuditLog
from engine.ops.risk import set_kill_switch
from tests.brokers.live.helpers import (
    DATA_START,
    PARAMS,
    PRESET,
    REPLAY_END,
    REPLAY_START,
    backtest_decisions,
    env,
    live_args,
    run,
    wait_until,
    write_preset,
)

pytestmark = pytest.mark.slow
SESSION = f"{PRESET}@paper:replay"


def replay_bars() -> int:
    return len(load_market_data(["SPY"], start=REPLAY_START, end=REPLAY_END))


def session_events(kind: str) -> list[str]:
    events = AuditLog().events(limit=5000, kind=kind)
    return [m for m in events["message"] if m.startswith(f"live {SESSION}")] if len(events) else []


def test_replay_sends_the_backtests_orders_bar_by_bar(presets):
    write_preset(presets)
    code, out, err = run(live_args("paper", "--json"))
    assert code == 0, err
    state = json.loads(out)
    assert state["status"] == "finished" and state["bars_processed"] == replay_bars()

    orders = PaperBroker().orders("all")
    expected = backtest_decisions("paper")
    assert len(expected) >= 4
    assert [o.client_order_id for o in orders] == expected
    # long only: every cross up buys, every cross down sells what the buy bought
    assert [o.side for o in orders] == ["buy", "sell"] * (len(expected) // 2) + ["buy"] * (len(expected) % 2)
    close = load_market_data(["SPY"], start=DATA_START, end=REPLAY_END).close["SPY"]
    slip = Costs().slippage_bps / 1e4
    first = orders[0]
    decided = close.index[close.index.strftime("%Y%m%d") == first.client_order_id.split("-")[1][:8]][0]
    price = close[decided] * (1 + slip)
    assert first.avg_fill_price == pytest.approx(price)  # filled at the close of the bar that decided
    assert first.quantity == pytest.approx(PARAMS["weight"] * 100_000.0 / close[decided])  # half the equity
    assert orders[1].quantity == pytest.approx(first.quantity)  # the exit sells the whole position
    assert len(session_events("signal")) == replay_bars()  # one audit line per bar seen
    assert len(session_events("fill")) == len(expected)  # each fill delivered (and audited) once


def test_kill_switch_on_sends_nothing_and_says_so(presets):
    write_preset(presets)
    set_kill_switch(True, "test halt")
    code, out, err = run(live_args("paper", "--json"))
    assert code == 0, err
    assert PaperBroker().orders("all") == []
    refused = session_events("kill_switch")
    decisions = backtest_decisions("paper")
    # the entries are refused; an exit then finds no position to sell, so it is no order at all
    assert [m.split("(")[1].split(")")[0] for m in reversed(refused)] == decisions[::2]
    assert all("kill switch is ON: test halt" in m for m in refused)


def test_a_second_loop_is_refused_and_sigterm_stops_the_first(presets):
    write_preset(presets)
    first = subprocess.Popen(
        live_args("paper", "--pace", "0.5"), env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_until(lambda: (LiveStore().load(SESSION) or None) is not None and first.poll() is None)
        code, _, err = run(live_args("paper"))
        assert code == 2
        assert f"already running: held by {socket.gethostname()}:{first.pid}:" in err and len(err.splitlines()) == 1
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    state = LiveStore().load(SESSION)
    assert state is not None and state.status == "stopped" and state.bars_processed < replay_bars()
    assert (AuditLog().plan(lease_id(PRESET, "paper")) or {}).get("lease_owner") is None  # released

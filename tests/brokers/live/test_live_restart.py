"""A live loop killed (SIGKILL) in the middle of a session and started again: it reconciles with the broker, skips
the bars it processed and continues; the broker's order list, by client order id, is the event backtest's
decisions, each once. And the window a kill can hit between an order sent and the bar's state saved: the bar is
processed again after the restart and nothing is sent twice."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from brokers.live.state import LiveStore
from brokers.paper.adapter import PaperBroker
from engine.data import load_market_data
from engine.ops.audit_log import AuditLog
from tests.brokers.live.helpers import (
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


def messages(kind: str) -> list[str]:
    events = AuditLog().events(limit=5000, kind=kind)
    return [m for m in events["message"] if m.startswith(f"live {SESSION}")][::-1] if len(events) else []


def test_kill_9_in_the_middle_then_restart_continues_without_a_duplicate(presets):
    write_preset(presets)
    bars = len(load_market_data(["SPY"], start=REPLAY_START, end=REPLAY_END))
    expected = backtest_decisions("paper")
    proc = subprocess.Popen(
        live_args("paper", "--pace", "0.05"), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        # past the second decision (a buy and its sell done), well before the end
        wait_until(lambda: len(PaperBroker().orders("all")) >= 2 or proc.poll() is not None)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = LiveStore().load(SESSION)
    assert killed is not None and killed.status == "running" and 0 < killed.bars_processed < bars

    code, out, err = run(live_args("paper"))
    assert code == 0, err
    state = LiveStore().load(SESSION)
    assert state is not None and state.status == "finished"
    assert state.bars_processed == bars  # every bar once over the two processes
    ids = [o.client_order_id for o in PaperBroker().orders("all")]
    assert ids == expected and len(set(ids)) == len(ids)
    restart = [m for m in messages("reconcile") if "restart after bar" in m]
    assert len(restart) == 1 and f"restart after bar {killed.last_bar}" in restart[0]
    assert any("(a process that ended) was released" in m for m in messages("reconcile"))  # the dead holder's lease


def test_a_bar_whose_order_went_out_before_the_crash_is_processed_again_and_sends_nothing(presets):
    write_preset(presets)
    end = "2019-05-31"
    args = [*live_args("paper")[:-1], f"{REPLAY_START}..{end}"]
    assert run(args)[0] == 0
    orders = PaperBroker().orders("all")
    assert len(orders) == 2  # 2019-03-14 buy, 2019-05-08 sell
    last = orders[-1]
    # the state as a kill right after that sell was sent would have left it: the bar before, the sell unseen
    store = LiveStore()
    state = store.load(SESSION)
    assert state is not None
    index = load_market_data(["SPY"], start=REPLAY_START, end=end).index
    decided = index[index.strftime("%Y%m%d") == last.client_order_id.split("-")[1][:8]][0]
    before = index[index.get_loc(decided) - 1]
    state.last_bar, state.status = before.isoformat(), "running"
    state.bars_processed = int(index.get_loc(decided))
    state.followed.pop(last.client_order_id)
    state.positions = {"SPY": orders[0].filled_quantity}
    store.save(state)

    assert run(args)[0] == 0
    assert [o.client_order_id for o in PaperBroker().orders("all")] == [o.client_order_id for o in orders]
    seen = [m for m in messages("signal") if f"bar {decided.isoformat()}" in m]
    assert len(seen) == 2 and "sent" in seen[0] and seen[1].endswith("no order")  # the target is already met
    assert LiveStore().load(SESSION).bars_processed == len(index)
    fills = [m for m in messages("fill") if "sell" in m]
    assert len(fills) == 2  # the sell's fill, unseen before the crash, was delivered to the new process

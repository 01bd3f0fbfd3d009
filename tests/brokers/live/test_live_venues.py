"""`ivybt live --replay` as a real process through the real alpaca-py and ib_async clients against the protocol
fakes: the orders the venue receives, by client order id, are the event backtest's decisions bar by bar, each
sent once; a LIVE account is refused without --yes-live (nothing sent); polling the broker's bar source, a bar
that arrives is processed."""

from __future__ import annotations

import signal
import subprocess

import pytest

from brokers.live.state import LiveStore
from tests.brokers.alpaca.test_bars import alpaca_bar
from tests.brokers.bars_sample import ROWS
from tests.brokers.ibkr.helpers import by_ref, placed
from tests.brokers.live.helpers import (
    IVYBT,
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
SESSION = f"{PRESET}@alpaca"


def alpaca_env(fake, **extra: str) -> dict[str, str]:
    return {
        "ALPACA_API_KEY": fake.key,
        "ALPACA_SECRET_KEY": fake.secret,
        "ALPACA_BASE_URL": fake.url,
        "ALPACA_DATA_URL": fake.url,
        **extra,
    }


def test_alpaca_receives_the_backtests_decisions_once_each(presets, alpaca_fake):
    write_preset(presets)
    code, _, err = run(live_args("alpaca"), alpaca_env(alpaca_fake))
    assert code == 0, err
    expected = backtest_decisions("alpaca")
    assert [o["client_order_id"] for o in alpaca_fake.orders] == expected
    assert alpaca_fake.order_posts == len(expected)  # nothing re-sent
    # long only at half the equity, filled at the fake's price: buy 100, sell 100, ...
    price = alpaca_fake.prices["SPY"]
    assert [(b["side"], float(b["qty"])) for b in alpaca_fake.posted] == [
        ("buy" if k % 2 == 0 else "sell", 0.5 * 100_000.0 / price) for k in range(len(expected))
    ]


def test_ibkr_receives_the_backtests_decisions_once_each(presets, tws_fake, ib_log):
    write_preset(presets)
    code, _, err = run(live_args("ibkr"), {"IBKR_PORT": str(tws_fake.port), "IBKR_CLIENT_ID": "41"})
    assert code == 0, err
    expected = backtest_decisions("ibkr")
    assert list(by_ref(tws_fake)) == expected
    assert len(placed(tws_fake)) == len(expected)
    assert [o["action"] for o in placed(tws_fake)] == ["BUY" if k % 2 == 0 else "SELL" for k in range(len(expected))]


def test_a_live_account_needs_yes_live(presets, alpaca_fake):
    write_preset(presets)
    extra = alpaca_env(alpaca_fake, ALPACA_LIVE="1", IVYBT_ALLOW_LIVE="1")
    code, _, err = run(live_args("alpaca"), extra)
    assert code == 2 and "is LIVE: add --yes-live to run the live loop (nothing was sent)" in err
    assert alpaca_fake.order_posts == 0


def test_new_bars_from_the_brokers_bar_source_are_processed_as_they_arrive(presets, alpaca_fake):
    write_preset(presets)
    alpaca_fake.bars["SPY"] = [alpaca_bar(*r) for r in ROWS]
    args = [str(IVYBT), "live", "--preset", PRESET, "--broker", "alpaca", "--bars", "broker", "--poll", "0.2"]
    proc = subprocess.Popen(args, env=env(**alpaca_env(alpaca_fake)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        store = LiveStore()
        wait_until(lambda: (s := store.load(SESSION)) is not None and s.last_bar == "2024-07-02T00:00:00")
        assert store.load(SESSION).bars_processed == 0  # the bars known at the start are its history
        with alpaca_fake.lock:  # the next session's bar closes
            alpaca_fake.bars["SPY"].append(alpaca_bar("2024-07-03", 548.69, 551.83, 548.65, 551.46, 37369800.0))
        wait_until(lambda: store.load(SESSION).bars_processed == 1)
        assert store.load(SESSION).last_bar == "2024-07-03T00:00:00"
        assert "(SPY 551.46): no order" in store.load(SESSION).last_decision  # 6 bars: no SMA yet
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert store.load(SESSION).status == "stopped"


def test_the_desk_spawns_an_alpaca_loop_with_the_apps_keys(presets, alpaca_fake, monkeypatch, home):
    """Keys the app read from its secrets reach the spawned process in its environment only (not in its log)."""
    from brokers.live.control import start_loop
    from brokers.live.session import process_alive

    write_preset(presets)
    monkeypatch.setenv("ALPACA_BASE_URL", alpaca_fake.url)
    monkeypatch.setenv("ALPACA_DATA_URL", alpaca_fake.url)
    keys = {"api_key": alpaca_fake.key, "secret_key": alpaca_fake.secret}
    pid = start_loop(PRESET, "alpaca", extra=["--replay", f"{REPLAY_START}..{REPLAY_END}"], keys=keys)
    wait_until(lambda: not process_alive(pid), timeout=240)
    assert [o["client_order_id"] for o in alpaca_fake.orders] == backtest_decisions("alpaca")
    log = (home / "live" / f"{PRESET}@alpaca.log").read_text(encoding="utf-8")
    assert "finished after bar" in log and alpaca_fake.secret not in log and alpaca_fake.key not in log


def test_alpaca_kill_9_then_restart_posts_each_decision_once(presets, alpaca_fake):
    import os

    write_preset(presets)
    extra = alpaca_env(alpaca_fake)
    proc = subprocess.Popen(
        live_args("alpaca", "--pace", "0.05"), env=env(**extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until(lambda: alpaca_fake.orders_created >= 2 or proc.poll() is not None)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    code, _, err = run(live_args("alpaca"), extra)
    assert code == 0, err
    expected = backtest_decisions("alpaca")
    assert [o["client_order_id"] for o in alpaca_fake.orders] == expected
    assert alpaca_fake.order_posts == len(expected)
    assert LiveStore().load(f"{SESSION}:replay").status == "finished"

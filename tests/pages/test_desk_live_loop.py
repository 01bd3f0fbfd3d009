"""AppTest of the Desk's live-loop control on the paper broker: Start spawns a real `ivybt live` process for an
event preset (detached), the status reads its lease and stored state (running, its pid, the last bar), Stop ends
it (SIGTERM: the loop saves its state as "stopped" and releases the lease)."""

from __future__ import annotations

import os
import signal

import pytest

from brokers.live.control import loop_status
from brokers.live.session import process_alive
from engine.data import load_market_data
from tests.brokers.live.helpers import DATA_START, PRESET, wait_until, write_preset
from tests.pages.page_helpers import assert_clean, page

pytestmark = pytest.mark.slow


def caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith(f"{PRESET}@paper"))


def test_start_status_and_stop_a_live_loop(workspace, presets):
    write_preset(presets)
    at = page("home")
    at.run()
    at = at.switch_page("pages/desk.py")
    at.run()
    assert_clean(at)
    assert at.selectbox(key="live_loop_preset").options == [PRESET]
    assert "not running (last state: never run)" in caption(at)
    assert at.button(key="live_loop_stop").disabled
    at.button(key="live_loop_start").click().run()
    assert_clean(at)
    pid = None
    try:
        wait_until(lambda: loop_status(PRESET, "paper")["running"])
        pid = loop_status(PRESET, "paper")["pid"]
        last = load_market_data(["SPY"], start=DATA_START).index[-1]  # a new session starts after the known bars
        wait_until(lambda: loop_status(PRESET, "paper")["last_bar"] == last.isoformat())
        at.run()
        assert f"running (pid {pid})" in caption(at) and f"last bar {last.isoformat()}" in caption(at)
        assert at.button(key="live_loop_start").disabled and not at.button(key="live_loop_stop").disabled
        at.button(key="live_loop_stop").click().run()
        assert_clean(at)
        assert any(f"pid {pid}" in s.value for s in at.success)
        wait_until(lambda: not process_alive(pid))
        at.run()
        assert "not running (last state: stopped)" in caption(at)
    finally:
        if pid is not None and process_alive(pid):
            os.kill(pid, signal.SIGKILL)

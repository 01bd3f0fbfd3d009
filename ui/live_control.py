"""The Desk's live-loop control: choose an event preset, start its `ivybt live` process, stop it, see its status.

Drawing only: starting, stopping and the status are brokers.live.control. A LIVE account needs its account id
typed before Start is enabled (the Daily Ops rule for a live execution); the loop then runs with --yes-live.
"""

from __future__ import annotations

import streamlit as st

from brokers.base import BrokerError
from brokers.live.control import event_presets, loop_status, start_loop, stop_loop
from engine.errors import EngineError
from ui.daily_ops_view import alpaca_secret_keys


def _start(preset: str, broker: str, yes_live: bool) -> None:
    try:
        keys = alpaca_secret_keys() if broker == "alpaca" else {}
        pid = start_loop(preset, broker, yes_live=yes_live, keys=keys)
    except (EngineError, BrokerError) as e:
        st.session_state["live_loop_message"] = ("error", f"Cannot start: {e}")
    else:
        st.session_state["live_loop_message"] = ("success", f"Live loop of {preset} on {broker} started (pid {pid}).")


def _stop(preset: str, broker: str) -> None:
    pid = stop_loop(preset, broker)
    st.session_state["live_loop_message"] = (
        ("success", f"Stop sent to the live loop (pid {pid}); it ends after the current bar.")
        if pid is not None
        else ("warning", "No live loop of this preset runs on this machine.")
    )


def status_line(status: dict) -> str:
    """One sentence: running or not, the last bar processed and the last decision."""
    head = f"running (pid {status['pid']})" if status["running"] else f"not running (last state: {status['status']})"
    bar = status["last_bar"] or "none yet"
    decision = status["last_decision"] or "none"
    return f"{status['session']}: {head}; {status['bars_processed']} bars processed, last bar {bar}; last decision: {decision}"


def live_control(broker: str, live_account: str | None) -> None:
    """The control for `broker`; `live_account`: the account id when the account is LIVE (None on paper)."""
    presets = event_presets()
    if not presets:
        st.info("No preset runs an event strategy (e.g. sma_cross_event): save one to run it live.")
        return
    preset = st.selectbox("Event preset", presets, key="live_loop_preset")
    status = loop_status(preset, broker)
    st.caption(status_line(status))
    typed_ok = True
    if live_account is not None and not status["running"]:
        typed = st.text_input(f"LIVE account: type its id ({live_account}) to start", key="live_loop_confirm")
        typed_ok = typed.strip() == live_account
    cols = st.columns(2)
    cols[0].button(
        "Start live loop",
        key="live_loop_start",
        disabled=status["running"] or not typed_ok,
        on_click=_start,
        args=(preset, broker, live_account is not None),
    )
    cols[1].button(
        "Stop live loop", key="live_loop_stop", disabled=not status["running"], on_click=_stop, args=(preset, broker)
    )
    if "live_loop_message" in st.session_state:
        level, text = st.session_state.pop("live_loop_message")
        {"success": st.success, "warning": st.warning, "error": st.error}[level](text)

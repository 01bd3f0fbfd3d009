"""Start, stop and watch live loops from the app (the Desk's control): each loop is its own `ivybt live` process.

`start_loop` spawns `python -m engine.cli live --preset NAME --broker B` detached (its own session, output to
`<workspace>/live/<preset>@<broker>.log`), so the loop outlives the page; `stop_loop` sends it SIGTERM (it
finishes the bar, runs on_stop, saves its state and releases its lease); `loop_status` reads the lease (running
or not, held by which process) and the stored state (last bar, last decision). Nothing here trades: the process
does, with every rule of `ivybt live`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from brokers.live.session import LoopBusy, event_preset, lease_id, process_alive
from brokers.live.state import LiveStore, session_key
from engine.errors import EngineError
from engine.ops.audit_log import AuditLog
from engine.store.presets import list_presets
from engine.store.workspace import workspace_dir

_children: list[subprocess.Popen[bytes]] = []
"""Loops started by this process: polled so an ended one is reaped (no zombie left behind)."""


def event_presets() -> list[str]:
    """Names of the saved presets whose strategy is an event strategy (what a live loop runs)."""
    out = []
    for name in list_presets():
        try:
            event_preset(name)
        except EngineError:
            continue
        out.append(name)
    return out


def loop_status(preset: str, broker: str) -> dict[str, Any]:
    """Running or not (the lease of (preset, broker) held by a living process), its pid, and the stored state of
    the session most recently updated (live or replay): status, last bar, bars processed, last decision."""
    _reap()
    row = AuditLog().plan(lease_id(preset, broker)) or {}
    owner, until = str(row.get("lease_owner") or ""), row.get("lease_until")
    pid = _pid_of(owner)
    held = bool(owner) and until is not None and datetime.fromisoformat(until) > datetime.now(UTC)
    running = held and (pid is None or process_alive(pid))
    store = LiveStore()
    states = [s for s in (store.load(session_key(preset, broker, r)) for r in (False, True)) if s is not None]
    state = max(states, key=lambda s: s.updated_at) if states else None
    return {
        "running": running,
        "pid": pid if running else None,
        "holder": owner if running else "",
        "status": "running" if running else (state.status if state else "never run"),
        "session": state.session if state else session_key(preset, broker),
        "last_bar": state.last_bar if state else None,
        "bars_processed": state.bars_processed if state else 0,
        "last_decision": state.last_decision if state else "",
        "updated_at": state.updated_at if state else None,
    }


def start_loop(
    preset: str,
    broker: str,
    yes_live: bool = False,
    extra: list[str] | None = None,
    keys: Mapping[str, str] | None = None,
) -> int:
    """Spawn the loop of `preset` on `broker` in the background; its pid. LoopBusy when one runs already.

    keys: Alpaca's api_key / secret_key when the app has them from its secrets (passed to the process in its
    environment, as ALPACA_API_KEY / ALPACA_SECRET_KEY; never on its command line or in a log)."""
    event_preset(preset)  # a bad preset is this call's error, not a log line of a dead process
    status = loop_status(preset, broker)
    if status["running"]:
        raise LoopBusy(f"the live loop of {preset}@{broker} is already running (held by {status['holder']})")
    folder = workspace_dir() / "live"
    folder.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "engine.cli", "live", "--preset", preset, "--broker", broker, *(extra or [])]
    if yes_live:
        args.append("--yes-live")
    with open(folder / f"{session_key(preset, broker)}.log", "ab") as log:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=_env(keys),
        )
    _children.append(proc)
    return proc.pid


def stop_loop(preset: str, broker: str) -> int | None:
    """Ask the running loop of `preset` on `broker` to stop (SIGTERM); its pid, or None when none runs here."""
    status = loop_status(preset, broker)
    pid = status["pid"]
    if not status["running"] or pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    return int(pid)


def _env(keys: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    if keys and keys.get("api_key") and keys.get("secret_key"):
        env["ALPACA_API_KEY"], env["ALPACA_SECRET_KEY"] = keys["api_key"], keys["secret_key"]
    return env


def _pid_of(owner: str) -> int | None:
    """The pid in a lease owner "host:pid:nonce" of this machine (None: another machine or no owner)."""
    import socket

    host, _, rest = owner.partition(":")
    text = rest.partition(":")[0]
    return int(text) if host == socket.gethostname() and text.isdigit() else None


def _reap() -> None:
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)

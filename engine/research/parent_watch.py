"""A worker process that ends when the process that started it dies (a pool process must not outlive its driver).

`die_with_parent(parent_pid)` runs first in the worker. On Linux the kernel sends it SIGKILL the moment its
parent goes (prctl PR_SET_PDEATHSIG; note: "parent" is the thread that started the process, so start workers
from a thread that lives as long as they do). Everywhere, a daemon thread also compares `os.getppid()` with
`parent_pid` every `interval` seconds and kills the process when they differ (the parent died and the worker
was re-parented), which also catches a parent that died before the prctl call.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
DEFAULT_INTERVAL = 1.0


def die_with_parent(parent_pid: int, interval: float = DEFAULT_INTERVAL) -> None:
    """End this process when `parent_pid` (the process that started it) is no longer its parent."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # no libc or no prctl: the thread below still watches
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the kernel was told to watch it
        _die()
    threading.Thread(target=_watch, args=(parent_pid, interval), name="parent-watch", daemon=True).start()


def _watch(parent_pid: int, interval: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(interval)
    _die()


def _die() -> None:
    """SIGKILL this process (no clean-up: its parent, which would want the results, is gone)."""
    os.kill(os.getpid(), signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)

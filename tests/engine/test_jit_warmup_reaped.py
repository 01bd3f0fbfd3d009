"""engine.jit.start_background_warmup's child is reaped when it ends (issue 16 item 11: a long-lived process such as
the app kept it as a zombie child). The warm-up command is replaced by /bin/true: only the process matters here."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from engine import jit


def _children() -> dict[int, str]:
    """pid -> state letter of this process's children, from /proc."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid():
            out[int(stat.parent.name)] = state
    return out


def test_the_warmup_child_is_reaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))  # the lock file goes there
    monkeypatch.setattr(jit, "_spawned", False)
    monkeypatch.setattr(sys, "executable", "/bin/true")  # "/bin/true -m engine.sim.warmup --background": exits 0
    before = set(_children())
    assert jit.start_background_warmup()
    deadline = time.monotonic() + 30  # a bound on /bin/true's exit and the reaping, not a timing check
    while (left := {p: s for p, s in _children().items() if p not in before}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == {}, f"children left behind (Z = zombie): {left}"

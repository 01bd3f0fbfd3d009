"""Record what a user strategy reads from outside the engine: files, databases, the network, other programs.

The look-ahead audit checks the weights a strategy computes from the data it is given; a strategy that reads
the prices itself (the sample CSV, a database, a web API) would pass it without being checked. `start()`
installs a Python audit hook (`sys.addaudithook`) that records every such access. A hook is process-wide and
cannot be removed, so it is only installed in a sandbox child that runs nothing else (`engine.strategies.
sandbox`, watched mode), before the user file is imported.

What counts as outside: opening a file for reading that is not Python code and not part of the Python
installation (the engine's own data files count: the bundled sample is market data), connecting a database
file or a socket, starting a program. System pseudo-files (/proc, /sys, /dev) and time zone data do not
count. The hook sees what Python code does; a C extension that opens a file by itself is not seen (the
guard stops accidents, not malice).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ENGINE_DIR = Path(__file__).resolve().parents[1]
CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pyd", ".pth", ".nbi", ".nbc")
SYSTEM_PREFIXES = ("/proc/", "/sys/", "/dev/", "/usr/share/zoneinfo/", "/etc/localtime", "/etc/timezone")
RUN_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork")
NET_EVENTS = ("socket.connect", "socket.sendto", "socket.sendmsg")

_reads: list[str] = []


def _install_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)


_ROOTS = _install_roots()
_ENGINE = os.path.join(str(ENGINE_DIR), "")


def outside(path: str) -> bool:
    """Whether reading `path` (absolute) reads data from outside the engine (see the module docstring)."""
    if path.endswith(CODE_SUFFIXES) or "/__pycache__/" in path or path.startswith(SYSTEM_PREFIXES):
        return False
    if path.startswith(_ENGINE):
        return True  # engine data, e.g. the bundled sample: market data the strategy must get from the engine
    return not path.startswith(_ROOTS)


def _reading(mode: Any, flags: Any) -> bool:
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    return isinstance(flags, int) and (flags & os.O_ACCMODE) in (os.O_RDONLY, os.O_RDWR)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    try:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            if isinstance(path, int) or not _reading(mode, flags):
                return
            text = os.fsdecode(path)
            full = os.path.realpath(text)
            if outside(full):
                _reads.append(full)
        elif event == "sqlite3.connect":
            if args and str(args[0]) not in (":memory:", ""):
                _reads.append(f"database {os.path.realpath(os.fsdecode(args[0]))}")
        elif event in NET_EVENTS:
            _reads.append(f"network {args[1]!r}" if len(args) > 1 else "network")
        elif event.startswith(RUN_EVENTS):
            _reads.append(f"program {args[0]!r}" if args else "a program")
    except Exception:  # a hook must never break the code it watches
        return


def start() -> list[str]:
    """Install the hook in this process (a dedicated sandbox child) and return the list it appends to."""
    sys.addaudithook(_hook)
    return _reads

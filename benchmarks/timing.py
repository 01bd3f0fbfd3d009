"""Timing rules of WORKLOADS.md and the machine description.

A cell is timed in-process on data already loaded: one warm-up call (its answer is the one checked), then
the best and the median of N back-to-back timed calls (`time.perf_counter`), WORKLOADS.md's rule. As in
`timeit`, the garbage collector is off during each timed call (a full `gc.collect()` before the warm-up and
before the series), so no engine is charged for a collection of another's garbage.

`cold=True` instead runs a full `gc.collect()` before every timed call (the harness's rule before stop 10):
the collector walks every object of the process, which leaves caches and TLBs cold, and on this VM the call
after it is ~2 ms slower whatever the engine - a fixed cost that hides a 2-3 ms engine. The harness reports
W1/W2 that way too ("W1 cold"), as information.
Slow cells are timed fewer times so one cell stays within a time budget, and a call that runs longer than
the timeout is abandoned (SIGALRM; works for pure-Python peers) and the cell recorded as skipped.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class CellTimeout(Exception):
    """A timed call ran longer than the timeout."""


@dataclass(frozen=True)
class Timing:
    """Seconds: best and median of `n` timed calls after one warm-up call (`warmup` seconds)."""

    best: float
    median: float
    n: int
    warmup: float


def _alarm(seconds: float | None):
    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        raise CellTimeout()

    if not seconds:
        return None
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return old


def _disarm(old) -> None:
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def call_timed(fn: Callable[[], Any], timeout: float | None = None, cold: bool = False) -> tuple[float, Any]:
    """(seconds, result) of one call with the garbage collector off (after a full collection if `cold`);
    raises CellTimeout after `timeout` seconds (None = no limit)."""
    if cold:
        gc.collect()
    old = _alarm(timeout)
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = fn()
        return time.perf_counter() - t0, result
    finally:
        if enabled:
            gc.enable()
        _disarm(old)


def measure(
    fn: Callable[[], Any], repeats: int = 5, timeout: float | None = None, budget: float = 60.0, cold: bool = False
) -> tuple[Timing, Any]:
    """Warm up once, then time `repeats` calls (fewer if they would take more than `budget` seconds, >= 1).

    Returns the timing and the warm-up call's result. Raises CellTimeout if any call exceeds `timeout`.
    """
    gc.collect()
    warm, result = call_timed(fn, timeout)
    n = max(1, min(repeats, int(budget // max(warm, 1e-9))))
    gc.collect()
    times = [call_timed(fn, timeout, cold)[0] for _ in range(n)]
    return Timing(min(times), statistics.median(times), n, warm), result


@dataclass
class Paired:
    """Two callables timed alternately (`measure_pair`): each side's timing and the median over the rounds of
    time(a) / time(b) (each round's two calls meet the same moment of a shared machine)."""

    a: Timing
    b: Timing
    ratio: float
    rounds: int


def measure_pair(fn_a: Callable[[], Any], fn_b: Callable[[], Any], repeats: int = 5, budget: float = 60.0) -> Paired:
    """One warm-up call of each, then rounds of one call of each, their order swapped every round; as many
    rounds as `repeats` (fewer when a round would pass `budget` seconds in all, at least 1). A slow spell of a
    shared machine then weighs on both sides of the ratio instead of on whichever cell ran during it."""
    gc.collect()
    warm_a = call_timed(fn_a)[0]
    warm_b = call_timed(fn_b)[0]
    n = max(1, min(repeats, int(budget // max(warm_a + warm_b, 1e-9))))
    ta: list[float] = []
    tb: list[float] = []
    for i in range(n):
        first, second = (fn_a, fn_b) if i % 2 == 0 else (fn_b, fn_a)
        t1 = call_timed(first)[0]
        t2 = call_timed(second)[0]
        ta.append(t1 if i % 2 == 0 else t2)
        tb.append(t2 if i % 2 == 0 else t1)
    ratio = statistics.median(x / y for x, y in zip(ta, tb, strict=True))
    return Paired(
        Timing(min(ta), statistics.median(ta), n, warm_a), Timing(min(tb), statistics.median(tb), n, warm_b), ratio, n
    )


def run_child(
    module: str, args: list[str], env: dict[str, str] | None = None, timeout: float = 1800
) -> tuple[dict[str, Any] | None, str, float]:
    """`python -m module *args` in a fresh process from the repository root (the probes, the 10k grid, the
    batches): (its answer, the last line of its stdout read as JSON, or None when it failed; its stderr; wall
    seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return None, proc.stderr or f"exit {proc.returncode}, no output", wall
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, wall


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def machine() -> dict[str, str]:
    """CPU model, logical cores, memory, OS and Python: the line RESULTS.md prints under the table."""
    mem = _memory_gib()
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{mem:.1f} GiB" if mem else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def versions(
    packages: tuple[str, ...] = (
        "ivybt",
        "numpy",
        "pandas",
        "numba",
        "llvmlite",
        "pandas-ta",
        "vectorbt",
        "backtesting",
    ),
) -> dict[str, str]:
    """Installed versions of the packages that decide the timings ("-" when not installed)."""
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out

"""Tiered execution of the numba kernels: first calls answer at once, compiled code takes over when cached.

Compiling every kernel takes ~20 s (numba's type inference on the simulator loop, not LLVM), which a UI
cannot spend on its first click. numba caches compiled code on disk (`cache=True`), and the set-up script
fills that cache (`python -m engine.warmup`), which then writes a *warm marker* keyed by the numba version
and the kernel files' size and mtime (numba's own cache keys). `kernel(dispatcher, cells)` picks the tier:

- marker present: the compiled kernel (numba loads it from its cache in milliseconds);
- no marker, small work (`cells` <= INTERPRET_MAX_CELLS): the kernel's own Python source run by the
  interpreter (`interpreted`: the same code object, with the jitted helpers it calls swapped for their own
  Python twins), while a background `python -m engine.warmup` fills the cache for later calls;
- no marker, large work: the compiled kernel, compiled now (what every call did before this module);
- marker present but no compiled kernel loaded in this process yet: the first load initialises numba's
  compiler context (~0.4-0.7 s, whatever the kernel; it imports scipy.linalg among others), more than a
  small job costs interpreted. Jobs up to WARM_INTERPRET_MAX_CELLS run interpreted until the interpreted
  calls of this process have taken LOAD_COST_S in all; then (or for any larger job) the compiled tier
  loads. A one-off CLI backtest never pays the load; a session of many backtests pays it once, early.

Both tiers run the same source and give the same numbers (tests hold them equal). IVYBT_JIT=compiled
forces the compiled tier without starting anything (benchmarks, tests of speed); IVYBT_JIT=interpreted
forces the interpreter (tests of the twins).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

PACKAGE_ROOT = Path(__file__).resolve().parent
KERNEL_FILES = ("kernels.py", "trades.py", "metrics/fused.py", "strategies/crossover.py")
"""Sources of the kernels a backtest runs (relative to the package): their size and mtime key the marker."""
INTERPRET_MAX_CELLS = 60_000
"""Largest job (bars x symbols x sets) the interpreter runs while nothing is cached: ~0.5 s for the
simulator in pure Python; beyond that compiling (seconds, once) is cheaper."""
WARM_INTERPRET_MAX_CELLS = 20_000
"""Largest job the interpreter runs when the cache is warm but not yet loaded (~0.2 s for the simulator)."""
LOAD_COST_S = 0.5
"""What loading the first cached kernel costs a process (numba's context set-up), measured here: the
interpreter's time budget before the compiled tier loads."""
WARMING_STALE_S = 600.0
"""A warm-up lock older than this is from a process that died; another warm-up may start."""

_twins: dict[Any, Callable[..., Any]] = {}
_warm = False
_spawned = False
_interpreted_s = 0.0
_seen: set[Any] = set()


def mode() -> str:
    """IVYBT_JIT: "auto" (default), "compiled" or "interpreted"; anything else raises ValueError."""
    value = os.environ.get("IVYBT_JIT", "auto").strip().lower() or "auto"
    if value not in ("auto", "compiled", "interpreted"):
        raise ValueError(f"IVYBT_JIT={value!r}: expected auto, compiled or interpreted")
    return value


def cache_key() -> str:
    """numba version, Python version and each kernel file's size and mtime: what invalidates numba's cache."""
    parts = [numba.__version__, sys.version.split()[0]]
    for rel in KERNEL_FILES:
        st = (PACKAGE_ROOT / rel).stat()
        parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def marker_dir() -> Path:
    """Where numba keeps this package's cache (NUMBA_CACHE_DIR, else engine/__pycache__), else ~/.cache/ivybt."""
    if numba.config.CACHE_DIR:
        return Path(numba.config.CACHE_DIR)
    own = PACKAGE_ROOT / "__pycache__"
    if os.access(own if own.exists() else PACKAGE_ROOT, os.W_OK):
        return own
    return Path.home() / ".cache" / "ivybt"


def _marker() -> Path:
    return marker_dir() / f"ivybt-warm-{cache_key()}"


def _lock() -> Path:
    return marker_dir() / f"ivybt-warming-{cache_key()}"


def is_warm() -> bool:
    """True once the compiled kernels are in numba's cache for the current sources (checked until true)."""
    global _warm
    if not _warm:
        _warm = _marker().exists()
    return _warm


def mark_warm() -> Path:
    """Record that the cache holds every kernel for the current sources (called by engine.warmup)."""
    global _warm
    path = _marker()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"compiled {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    _warm = True
    return path


def clear_warming_lock() -> None:
    """Remove this process's warm-up lock (engine.warmup calls it when done, success or not)."""
    _lock().unlink(missing_ok=True)


def start_background_warmup() -> bool:
    """Start `python -m engine.warmup` detached, once per process and once across processes (a lock file);
    True if this call started it."""
    global _spawned
    if _spawned:
        return False
    _spawned = True
    lock = _lock()
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        if lock.exists() and time.time() - lock.stat().st_mtime < WARMING_STALE_S:
            return False
        lock.unlink(missing_ok=True)
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.close(fd)
    except OSError:
        return False  # someone else holds it, or the folder is read-only: compile on demand instead
    subprocess.Popen([sys.executable, "-m", "engine.warmup", "--background"], cwd=str(PACKAGE_ROOT.parent),
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    return True


def readonly(array: np.ndarray) -> np.ndarray:
    """A read-only view of `array` (no copy) for a kernel input.

    numba compiles (and caches) one machine-code version per argument type, and a read-only array is another
    type: pandas 3 hands out read-only views (copy-on-write) for some frames and writable copies for others,
    so the same call could miss the cache and compile again (seconds). Kernels never write their inputs;
    passing every input read-only keeps one signature per kernel."""
    view = array.view()
    view.flags.writeable = False
    return view


def interpreted(fn: Any) -> Callable[..., Any]:
    """The Python twin of a numba dispatcher: its own code object run by the interpreter, with every jitted
    function it calls (module globals) replaced by that function's twin. Plain functions come back as is."""
    if not isinstance(fn, CPUDispatcher):
        return fn
    twin = _twins.get(fn)
    if twin is None:
        py = fn.py_func
        env = dict(py.__globals__)
        twin = types.FunctionType(py.__code__, env, py.__name__, py.__defaults__, py.__closure__)
        _twins[fn] = twin
        for name, value in py.__globals__.items():
            if isinstance(value, CPUDispatcher):
                env[name] = interpreted(value)
    return twin


def kernel(fn: Any, cells: int) -> Callable[..., Any]:
    """The tier to run `fn` (a numba dispatcher) on a job of `cells` bar-symbol-set cells (module docstring)."""
    how = mode()
    if how == "compiled" or not isinstance(fn, CPUDispatcher):
        return fn
    if how == "interpreted":
        return interpreted(fn)
    _seen.add(fn)
    if fn.signatures:
        return fn  # compiled or loaded in this process already
    if is_warm():
        if cells > WARM_INTERPRET_MAX_CELLS or _interpreted_s >= LOAD_COST_S or _compiler_ready():
            return fn  # loadable from the cache in milliseconds once numba's context is up
        return _timed(interpreted(fn))
    start_background_warmup()
    return interpreted(fn) if cells <= INTERPRET_MAX_CELLS else fn


def interpreted_seconds() -> float:
    """Seconds this process spent in interpreted kernels on a warm cache (the budget of LOAD_COST_S)."""
    return _interpreted_s


def _compiler_ready() -> bool:
    """True once this process holds any compiled kernel (numba's context is set up: later loads are cheap)."""
    return any(d.signatures for d in _seen)


def _timed(twin: Callable[..., Any]) -> Callable[..., Any]:
    """`twin`, adding its run time to the interpreter budget of this process."""
    def run(*args: Any) -> Any:
        global _interpreted_s
        t0 = time.perf_counter()
        try:
            return twin(*args)
        finally:
            _interpreted_s += time.perf_counter() - t0
    return run

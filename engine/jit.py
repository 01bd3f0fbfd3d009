"""Tiered execution of the numba kernels: first calls answer at once, compiled code takes over when cached.

Compiling every kernel takes ~20 s (numba's type inference on the simulator loop, not LLVM), which a UI
cannot spend on its first click. numba caches compiled code on disk (`cache=True`), and the set-up script
fills that cache (`python -m engine.sim.warmup`), which then writes a *warm marker* keyed by the numba version
and the kernel files' size and mtime (numba's own cache keys). Kernels are declared with this module's
`njit` (a lazy `Kernel`: numba itself is imported only when something runs compiled). `kernel(fn, cells)`
picks the tier:

- marker present and numba's context already up in this process: the compiled kernel (numba loads it from
  its cache in milliseconds);
- no marker, small work (`cells` <= INTERPRET_MAX_CELLS): the kernel's own Python source run by the
  interpreter (`interpreted`: the same code object, with the jitted helpers it calls swapped for their own
  Python twins), while a background `python -m engine.sim.warmup` fills the cache for later calls;
- no marker, large work: the compiled kernel, compiled now (what every call did before this module);
- marker present but no compiled kernel loaded in this process yet: the first load initialises numba's
  compiler context (~0.4-0.7 s, whatever the kernel; it imports scipy.linalg among others), more than a
  small job costs interpreted. Jobs up to WARM_INTERPRET_MAX_CELLS run interpreted until the interpreted
  calls of this process have taken LOAD_COST_S in all; then (or for any larger job) the compiled tier
  loads. A one-off CLI backtest never pays the load; a session of many backtests pays it once, early.

Both tiers run the same source and give the same numbers, bit for bit (tests hold them equal). IVYBT_JIT=compiled
forces the compiled tier without starting anything (benchmarks, tests of speed); IVYBT_JIT=interpreted
forces the interpreter (tests of the twins).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE_ROOT = Path(__file__).resolve().parent
"""The engine package: numba caches each kernel beside its module, the warm-up marker lives in its __pycache__."""
KERNEL_FILES = (
    "sim/kernels.py",
    "sim/benchmark.py",
    "sim/single.py",
    "sim/trades.py",
    "sim/grid_cross.py",
    "metrics/fused.py",
    "metrics/fused_numpy.py",
    "strategies/crossover.py",
)
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

prange = range
"""`from engine.jit import prange`: Python's range until numba compiles the kernel (numba.prange then)."""


class Kernel:
    """A function to be compiled by numba, without importing numba until it is compiled.

    numba and pandas-ta (which imports numba) cost ~0.3-0.5 s of a fresh process's import, and a first call
    answered by the interpreter never needs them. `compiled()` imports numba, makes the dispatcher, and
    first binds the module's other kernels (and `prange`) to their dispatchers, because numba types the
    globals a kernel calls. Calling a Kernel runs the compiled dispatcher.
    """

    def __init__(self, py_func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func, self.options = py_func, options
        self.__name__, self.__doc__ = py_func.__name__, py_func.__doc__
        self._dispatcher: Any = None

    @property
    def signatures(self) -> list[Any]:
        """The signatures compiled or loaded in this process (none before the first compiled call)."""
        return [] if self._dispatcher is None else self._dispatcher.signatures

    def compiled(self) -> Any:
        """The numba dispatcher (created on first use; compiles or loads from numba's cache when called)."""
        if self._dispatcher is None:
            with _binding:  # grid threads may ask at once
                if self._dispatcher is None:
                    import numba

                    module = self.py_func.__globals__
                    if module.get("prange") is range:
                        module["prange"] = numba.prange
                    dispatcher = numba.njit(**self.options)(self.py_func)
                    _kernel_of[dispatcher] = self
                    self._dispatcher = dispatcher
                    for name, value in list(module.items()):
                        if isinstance(value, Kernel) and value is not self:
                            module[name] = value.compiled()
        return self._dispatcher

    def __call__(self, *args: Any) -> Any:
        return self.compiled()(*args)

    def __repr__(self) -> str:
        return f"Kernel({self.py_func.__module__}.{self.__name__})"


def njit(**options: Any) -> Callable[[Callable[..., Any]], Kernel]:
    """Decorator: `@njit(cache=True, nogil=True)` like numba's, lazily (see `Kernel`)."""
    return lambda fn: Kernel(fn, options)


_kernel_of: dict[Any, Kernel] = {}
_binding = threading.RLock()
_twins: dict[Any, Callable[..., Any]] = {}
_warm = False
_spawned = False
_interpreted_s = 0.0


def mode() -> str:
    """IVYBT_JIT: "auto" (default), "compiled" or "interpreted"; anything else raises ValueError."""
    value = os.environ.get("IVYBT_JIT", "auto").strip().lower() or "auto"
    if value not in ("auto", "compiled", "interpreted"):
        raise ValueError(f"IVYBT_JIT={value!r}: expected auto, compiled or interpreted")
    return value


def cache_key() -> str:
    """numba version, Python version and each kernel file's size and mtime: what invalidates numba's cache."""
    parts = [metadata.version("numba"), sys.version.split()[0]]
    for rel in KERNEL_FILES:
        st = (PACKAGE_ROOT / rel).stat()
        parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def marker_dir() -> Path:
    """Where numba keeps this package's cache (NUMBA_CACHE_DIR, else engine/__pycache__), else ~/.cache/ivybt."""
    if os.environ.get("NUMBA_CACHE_DIR"):  # what numba.config.CACHE_DIR reads, without importing numba
        return Path(os.environ["NUMBA_CACHE_DIR"])
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
    """Record that the cache holds every kernel for the current sources (called by engine.sim.warmup)."""
    global _warm
    path = _marker()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"compiled {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    _warm = True
    return path


def clear_warming_lock() -> None:
    """Remove this process's warm-up lock (engine.sim.warmup calls it when done, success or not)."""
    _lock().unlink(missing_ok=True)


def start_background_warmup() -> bool:
    """Start `python -m engine.sim.warmup` detached, once per process and once across processes (a lock file);
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.sim.warmup", "--background"],
        cwd=str(PACKAGE_ROOT.parent),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # reaped when it ends (else a long-lived process such as the app keeps it as a zombie child)
    threading.Thread(target=proc.wait, name="reap-warmup", daemon=True).start()
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


def as_kernel(fn: Any) -> Kernel | None:
    """The Kernel of `fn` (a Kernel, or the dispatcher a Kernel compiled into), else None."""
    if isinstance(fn, Kernel):
        return fn
    try:
        return _kernel_of.get(fn)
    except TypeError:  # unhashable
        return None


def interpreted(fn: Any) -> Callable[..., Any]:
    """The Python twin of a kernel: its own code object run by the interpreter, with every kernel it calls
    (module globals) replaced by that kernel's twin. Anything else comes back as is."""
    k = as_kernel(fn)
    if k is None:
        return fn
    twin = _twins.get(k)
    if twin is None:
        py = k.py_func
        env = dict(py.__globals__)
        twin = types.FunctionType(py.__code__, env, py.__name__, py.__defaults__, py.__closure__)
        _twins[k] = twin
        for name, value in py.__globals__.items():
            if as_kernel(value) is not None:
                env[name] = interpreted(value)
            elif name == "prange":
                env[name] = range
    return twin


def numpy_twin(fn: Kernel) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the function becomes `fn`'s interpreted twin instead of fn's own code. For a kernel whose loop
    numpy can run as a few whole-array calls giving the same numbers bit for bit (sequential accumulations such
    as np.add.accumulate): the interpreter tier then pays numpy's speed, not a Python loop's. Tests hold the
    two tiers equal."""

    def register(twin: Callable[..., Any]) -> Callable[..., Any]:
        _twins[fn] = twin
        return twin

    return register


def kernel(fn: Any, cells: int) -> Callable[..., Any]:
    """The tier to run `fn` (a Kernel, or the dispatcher it became) on a job of `cells` bar-symbol-set cells
    (module docstring); anything else comes back as is."""
    k = as_kernel(fn)
    if k is None:
        return fn
    how = mode()
    if how == "compiled":
        return k.compiled()
    if how == "interpreted":
        return interpreted(k)
    if k.signatures:
        return k.compiled()  # compiled or loaded in this process already
    if is_warm():
        if cells > WARM_INTERPRET_MAX_CELLS or _interpreted_s >= LOAD_COST_S or _compiler_ready():
            return k.compiled()  # loadable from the cache in milliseconds once numba's context is up
        return _timed(interpreted(k))
    start_background_warmup()
    return interpreted(k) if cells <= INTERPRET_MAX_CELLS else k.compiled()


def interpreted_seconds() -> float:
    """Seconds this process spent in interpreted kernels on a warm cache (the budget of LOAD_COST_S)."""
    return _interpreted_s


def _compiler_ready() -> bool:
    """True once this process holds any compiled kernel (numba's context is set up: later loads are cheap)."""
    return any(k.signatures for k in list(_kernel_of.values()))


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

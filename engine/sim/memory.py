"""Keep freed memory in the process for the next run instead of handing it back to the kernel (glibc only).

A backtest on a long series allocates a few dozen MB of fresh arrays (the averages, the weights, the equity,
exposure and turnover block, the benchmark, the metrics' scratch) and frees them at the end. glibc serves such
blocks with mmap, or from the top of its heap which it trims as soon as more than a few MB are free, so the next
run gets fresh pages again: the kernel faults and zeroes every one of them. On the 2-core VM of
benchmarks/RESULTS.md that cost a 1M-bar SMA-cross backtest ~15 of its ~51 ms (W5, measured in process:
51 -> 36 ms) and a 10M-bar one ~290 of ~655 ms; numpy's own hugepage advice (NUMPY_MADVISE_HUGEPAGE=0) made no
difference there.

`retain_freed_memory` (called by run_backtest, run_grid and the event runner, once per process) asks glibc to
serve every block from its heap (M_MMAP_MAX = 0) and to keep up to IVYBT_RETAIN_MB (default 1024) of free
memory at the heap's top (M_TRIM_THRESHOLD). Blocks freed inside the heap are reused by later allocations as
before. The price: after a large run the process's resident size stays at its high-water mark (at most that
many MB above what it holds), not its peak: the peak is the same. IVYBT_RETAIN_MB=0 leaves glibc's defaults.
On other C libraries (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

from engine.settings import env_number

RETAIN_VAR = "IVYBT_RETAIN_MB"
"""Environment variable: MB of freed memory a process keeps for its next run (0 = glibc's defaults)."""
DEFAULT_RETAIN_MB = 1024
MAX_RETAIN_MB = 2047  # mallopt takes a C int of bytes
REQUIREMENT = f"a whole number of MB from 0 to {MAX_RETAIN_MB}"
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's <malloc.h> mallopt parameters


def retain_mb() -> int:
    """IVYBT_RETAIN_MB as a whole number of MB (ConfigError naming the value when it is not one in range)."""
    value = env_number(RETAIN_VAR, DEFAULT_RETAIN_MB, lambda v: 0 <= v <= MAX_RETAIN_MB and v == int(v), REQUIREMENT)
    return int(value)


@functools.cache
def retain_freed_memory() -> bool:
    """Apply IVYBT_RETAIN_MB to this process's allocator once; True when glibc took the settings."""
    mb = retain_mb()
    if mb == 0 or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the interpreter's own C library (find_library would run ldconfig)
    except OSError:
        return False
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):  # musl has no such settings
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, mb << 20))

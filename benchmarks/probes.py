"""Measurements that need a fresh process: first-call latency (IvyBT) and W6 peak memory (IvyBT, vectorbt).

Run by the harness as ``python -m benchmarks.probes latency|memory ...``; each child prints one JSON line.

* latency: a fresh interpreter imports pandas (timed alone too) and IvyBT, reads SPY's CSV into a frame and runs
  W1 from it twice (MarketData conversion included, as in the harness's W1 cell), in three cases:
  "cold" - an empty NUMBA_CACHE_DIR with the default tiers of engine.jit (a clean clone's first run: the
  interpreter answers while a background warm-up compiles); "cold, compiled" - another empty cache with
  IVYBT_JIT=compiled (every kernel compiled in the call: the JIT cost itself); "warm" - the first case's
  directory once its background warm-up has finished (every later process; a small first call still runs
  interpreted there, because loading numba's context costs more than it, see engine/jit.py).
* memory: peak resident set size (``VmHWM`` of /proc/self/status; ``ru_maxrss`` where that is missing, but
  on Linux ru_maxrss is inherited across fork + exec from the harness process, so it is not used there). The child
  imports the engine, loads SPY and runs a 4-cell grid first (JIT compiled, libraries imported: the
  baseline), then the W6 grid once; it reports the baseline, the peak and the delta (peak - baseline: what
  the grid itself added, a lower bound if it never exceeded the earlier peak).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.timing import run_child

ROOT = Path(__file__).resolve().parent.parent
WARM_RUNS = 5
"""Fresh processes timed in the warm case (a process start on a shared 2-core machine varies by 0.1-0.3 s):
the median run is reported, with every run's import + first call."""


def _child_latency(data_dir: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    import pandas  # noqa: F401 - timed alone: the share of the import no engine change can remove

    tp = time.perf_counter()
    from benchmarks.peers import ivybt
    from benchmarks.workloads import GRID_SYMBOL, read_frame

    t1 = time.perf_counter()
    frames = {GRID_SYMBOL: read_frame(data_dir / f"{GRID_SYMBOL}.csv")}
    t2 = time.perf_counter()
    first = ivybt.single(ivybt.market_data(frames))  # from the frame, as the harness's W1 cell
    t3 = time.perf_counter()
    ivybt.single(ivybt.market_data(frames))
    t4 = time.perf_counter()
    from engine import jit

    return {
        "import": t1 - t0,
        "import_pandas": tp - t0,
        "load": t2 - t1,
        "first_call": t3 - t2,
        "second_call": t4 - t3,
        "final": first.final,
        "trades": first.trades,
        "interpreted_s": jit.interpreted_seconds(),
    }


def _rss_mib() -> float:
    """Peak resident set size of this process so far (MiB): VmHWM, else ru_maxrss.

    ru_maxrss survives fork + exec on Linux (a child started by a big parent reports the parent's peak),
    VmHWM belongs to the new address space, so it is preferred.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _child_memory(engine: str, data_dir: Path) -> dict[str, Any]:
    from benchmarks.workloads import GRID_SYMBOL, W6_FAST, W6_SLOW, read_frame

    frame = read_frame(data_dir / f"{GRID_SYMBOL}.csv")
    if engine == "ivybt":
        from benchmarks.peers import ivybt as mod

        data: Any = mod.market_data({GRID_SYMBOL: frame})
    else:
        from benchmarks.peers import vbt as mod

        data = frame
    mod.grid(data, range(5, 15, 5), range(20, 60, 20))
    base = _rss_mib()
    t0 = time.perf_counter()
    out = mod.grid(data, W6_FAST, W6_SLOW)
    seconds = time.perf_counter() - t0
    peak = _rss_mib()
    return {
        "baseline_mib": base,
        "peak_mib": peak,
        "delta_mib": peak - base,
        "seconds": seconds,
        "count": out.count,
        "best_return": list(out.best_return),
        "best_return_pct": out.best_return_pct,
    }


def _spawn(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> tuple[dict[str, Any], float]:
    """Run a probe child; (its JSON answer, process wall seconds)."""
    answer, err, wall = run_child("benchmarks.probes", args, env, timeout)
    if answer is None:
        raise RuntimeError(f"probe {' '.join(args)} failed:\n{err[-2000:]}")
    return answer, wall


def _latency(env: dict[str, str], data_dir: Path) -> dict[str, Any]:
    answer, wall = _spawn(["latency", "--data-dir", str(data_dir)], env)
    answer["process_wall"] = wall
    return answer


def _wait_warm(cache: Path, timeout: float = 600.0) -> float:
    """Seconds until engine.jit's background warm-up has written its marker and dropped its lock in `cache`."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if list(cache.glob("ivybt-warm-*")) and not list(cache.glob("ivybt-warming-*")):
            return time.perf_counter() - t0
        time.sleep(0.5)
    raise RuntimeError(f"the background warm-up did not finish within {timeout:.0f} s ({cache})")


def first_call_latency(data_dir: Path) -> dict[str, dict[str, Any]]:
    """{"cold": ..., "cold, compiled": ..., "warm": ...}: fresh processes on new numba cache directories."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="ivybt-numba-") as tmp:
        auto, compiled = Path(tmp) / "auto", Path(tmp) / "compiled"
        base = {**os.environ, "PYTHONPATH": str(ROOT)}
        out["cold"] = _latency({**base, "NUMBA_CACHE_DIR": str(auto), "IVYBT_JIT": "auto"}, data_dir)
        out["cold, compiled"] = _latency({**base, "NUMBA_CACHE_DIR": str(compiled), "IVYBT_JIT": "compiled"}, data_dir)
        out["cold"]["background_warmup_s"] = _wait_warm(auto)
        warm = [
            _latency({**base, "NUMBA_CACHE_DIR": str(auto), "IVYBT_JIT": "auto"}, data_dir) for _ in range(WARM_RUNS)
        ]
        firsts = sorted(w["import"] + w["first_call"] for w in warm)
        out["warm"] = sorted(warm, key=lambda w: w["import"] + w["first_call"])[len(warm) // 2]  # the median run
        out["warm"]["runs"] = firsts
    return out


def peak_memory(engine: str, data_dir: Path) -> dict[str, Any]:
    """W6 once in a fresh process: RSS baseline, peak and delta in MiB, and the grid's seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer, _ = _spawn(["memory", "--engine", engine, "--data-dir", str(data_dir)], env)
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=("latency", "memory"))
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--engine", choices=("ivybt", "vectorbt"), default="ivybt")
    args = parser.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")
    answer = _child_latency(args.data_dir) if args.probe == "latency" else _child_memory(args.engine, args.data_dir)
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())

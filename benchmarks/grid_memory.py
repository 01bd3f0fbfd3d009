"""Grid memory and throughput (issue 19 item 2): peak RSS and backtests/s of large `sma_cross` grids on SPY.

Each row runs in a fresh process (`python -m benchmarks.grid_memory --child ROW`), so its peak resident set
size (`VmHWM` of /proc/self/status, as `benchmarks.probes`) is the grid's own. The child imports the engine,
loads SPY's full history and runs a 4-set grid (kernels loaded: the baseline), then the row once.

Rows (every set valid, so the count is exact):
  10k    run_grid, fast 2..201 step 1 x slow 205..401 step 4 (200 x 50)      -> 10,000 sets   target < 1 GiB
  100k   run_grid, fast 2..201 step 1 x slow 202..701 step 1 (200 x 500)     -> 100,000 sets  target < 2 GiB
  cli    `ivybt optimize --strategy sma_cross --symbols SPY --range fast=2:201:1 --range slow=5:400:4`
         (14,850 sets after fast >= slow is pruned): the whole command, ranking and printing included
Each row with `--threads 1` (one grid thread, NUMBA_NUM_THREADS=1) and with every core.

Run: .venv/bin/python -m benchmarks.grid_memory [--rows 10k,100k,cli] [--threads 1,0] (0 = every core)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.timing import run_child

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024.0
GRIDS: dict[str, dict[str, range]] = {
    "10k": {"fast": range(2, 202), "slow": range(205, 402, 4)},
    "100k": {"fast": range(2, 202), "slow": range(202, 702)},
}
TARGET_MIB = {"10k": 1 * GIB, "100k": 2 * GIB}
CLI_ARGS = ["optimize", "--strategy", "sma_cross", "--symbols", "SPY"]
CLI_ARGS += ["--range", "fast=2:201:1", "--range", "slow=5:400:4", "--top", "3"]


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (MiB), from VmHWM (see benchmarks.probes._rss_mib)."""
    from benchmarks.probes import _rss_mib

    return _rss_mib()


def _child(row: str, threads: int) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    from engine.config import BacktestConfig
    from engine.data import load_market_data
    from engine.sim.grid import expand_grid, run_grid
    from engine.strategies.registry import get_strategy

    workers = threads or None
    data = load_market_data(["SPY"])
    cls = get_strategy("sma_cross")
    run_grid(data, cls, expand_grid({"fast": [5, 10], "slow": [20, 40]}, strategy_cls=cls), workers=workers)
    base = peak_rss_mib()
    t0 = time.perf_counter()
    if row == "cli":
        from engine.cli import main

        with contextlib.redirect_stdout(io.StringIO()) as out:
            main([*CLI_ARGS, *(["--workers", str(threads)] if threads else [])])
        count = int(out.getvalue().split(" trials ")[0].rsplit(" ", 1)[-1])
    else:
        sets = expand_grid(GRIDS[row], strategy_cls=cls)
        result = run_grid(data, cls, sets, BacktestConfig(), workers=workers)
        count = len(result.metrics)
    seconds = time.perf_counter() - t0
    return {"row": row, "threads": threads, "sets": count, "bars": len(data), "seconds": seconds,
            "baseline_mib": base, "peak_mib": peak_rss_mib()}  # fmt: skip


def measure(row: str, threads: int) -> dict[str, Any]:
    """One row in a fresh process (threads 0 = every core; 1 also pins numba's thread pool to one thread)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IVYBT_JIT": os.environ.get("IVYBT_JIT", "compiled")}
    if threads:
        env["NUMBA_NUM_THREADS"] = str(threads)
    answer, err, wall = run_child("benchmarks.grid_memory", ["--child", row, "--threads", str(threads)], env)
    if answer is None:
        return {"row": row, "threads": threads, "error": err.strip().splitlines()[-1:]}
    answer["process_wall"] = wall
    return answer


def line(r: dict[str, Any]) -> str:
    """One printed row: sets, seconds, backtests/s, peak and baseline RSS, the target's verdict."""
    who = f"{r['row']:<5} threads={r['threads'] or 'all':<3}"
    if "error" in r:
        return f"{who} FAILED: {r['error']}"
    target = TARGET_MIB.get(r["row"])
    verdict = (
        "" if target is None else f"  target < {target / GIB:.0f} GiB: {'PASS' if r['peak_mib'] < target else 'FAIL'}"
    )
    return (
        f"{who} {r['sets']:>7,} sets in {r['seconds']:7.2f} s = {r['sets'] / r['seconds']:>7,.0f} backtests/s "
        f"(process {r['process_wall']:.1f} s); peak RSS {r['peak_mib']:,.0f} MiB (baseline "
        f"{r['baseline_mib']:,.0f}){verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="10k,100k,cli", help="comma-separated: 10k, 100k, cli")
    ap.add_argument("--threads", default="1,0", help="comma-separated thread counts (0 = every core)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, int(args.threads))))
        return 0
    print(f"sma_cross grids on SPY, fresh process per row; {os.cpu_count()} cores")
    failed = False
    for row in args.rows.split(","):
        for threads in (int(t) for t in args.threads.split(",")):
            r = measure(row.strip(), threads)
            print(line(r), flush=True)
            failed |= "error" in r
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

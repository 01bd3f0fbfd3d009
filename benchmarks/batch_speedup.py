"""Speed-up of a 40-job batch with 2 local worker processes over 1 (aim: >= 1.7x on 2 cores). Not a test.

Each job is a full batch job: load data, backtest, save the run (Parquet frames into SQLite), mark it done.
The pool's processes are started and warmed (engine imported, numba's compiled kernels loaded from its disk
cache) before the clock starts, so the ratio measures the jobs, not interpreter start-up. Runs in a
temporary workspace; prints wall times, jobs/s and the ratio. Other load on the machine lowers the ratio:
the load average is printed beside it.

    .venv/bin/python benchmarks/batch_speedup.py [--jobs 40] [--runner local|dask] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BASKET = 8
SYMBOLS = ["SPY", "QQQ", "IWM", "DIA", "XLK", "XLF", "XLE", "XLV", "XLY", "XLP", "XLI", "XLU", "GLD", "TLT"]


def batch_yaml(n: int) -> str:
    """n distinct jobs: sma/ema crossovers with different windows, each on an 8-symbol basket."""
    lines = ["name: speedup", "defaults:", "  start: 2005-01-01", "  config: {costs: {commission_bps: 2}}", "jobs:"]
    for i in range(n):
        strategy = ("sma_cross", "ema_cross")[i % 2]
        fast, slow = 5 + 5 * (i % 6), 60 + 20 * (i // 6)
        basket = ", ".join(SYMBOLS[(i + k) % len(SYMBOLS)] for k in range(BASKET))
        lines.append(
            f"  - {{name: j{i:02d}, strategy: {strategy}, symbols: [{basket}], params: {{fast: {fast}, slow: {slow}}}}}"
        )
    return "\n".join(lines) + "\n"


def timed(runner_name: str, workers: int, n_jobs: int) -> float:
    from engine.batch import parse_batch
    from engine.batch.queue import JobQueue
    from engine.batch.runners import make_runner, run_batch

    queue = JobQueue()
    batch_id = queue.submit(parse_batch(batch_yaml(n_jobs), "speedup.yaml"))
    with make_runner(runner_name, workers=workers) as runner:
        runner.warm_up()
        start = time.perf_counter()
        counts = run_batch(queue, batch_id, runner)
        elapsed = time.perf_counter() - start
    if counts["done"] != n_jobs:
        raise SystemExit(f"only {counts['done']} of {n_jobs} jobs done: {counts}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--runner", choices=("local", "dask"), default="local")
    parser.add_argument("--repeat", type=int, default=2, help="best of N timings per worker count")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivybt-bench-") as home:
        os.environ["IVYBT_HOME"] = home
        from engine.data import load_market_data

        load_market_data(SYMBOLS, "2005-01-01")  # fill the Parquet cache once, outside the timings
        times = {}
        for workers in (1, 2):
            times[workers] = min(timed(args.runner, workers, args.jobs) for _ in range(args.repeat))
            print(
                f"{args.runner} runner, {workers} worker(s): {args.jobs} jobs in {times[workers]:.2f}s "
                f"({args.jobs / times[workers]:.1f} jobs/s)",
                flush=True,
            )
    load = os.getloadavg()
    print(
        f"speed-up 2 workers over 1: {times[1] / times[2]:.2f}x on {os.cpu_count()} cores "
        f"(load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f})"
    )


if __name__ == "__main__":
    main()

"""Grid throughput: backtests per second for `sma_cross` on SPY (full history) through `engine.sim.grid.run_grid`.

A script, not a test (timings depend on the machine). Protocol of bench/WORKLOADS.md: data loaded first,
one warm-up call (numba compilation, caches), then the best and the median of `--repeats` timed calls; each
timed call builds the weights, simulates every parameter set and computes the metrics table.

Grids (every set valid, fast < slow everywhere):
  10 x 10: fast 5..50 step 5,  slow 60..240 step 20   -> 100 backtests
  50 x 50: fast 2..51 step 1,  slow 60..256 step 4    -> 2,500 backtests
W3 (WORKLOADS.md, 90 backtests) and W6 (fast 2..100 step 2 x slow 10..500 step 10, 2,265 backtests) are
printed too, with W3's reference best cells and vectorbt's measured
W3 rate (796 backtests/s on the shared 2-core machine) as the peer ratio.

Run: .venv/bin/python benchmarks/grid_throughput.py [--repeats 3] [--workers N] [--symbol SPY]
(--workers 1 with NUMBA_NUM_THREADS=1 for the single-thread figures; peak memory: benchmarks/grid_memory.py)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import BacktestConfig  # noqa: E402
from engine.data import load_market_data  # noqa: E402
from engine.sim.grid import expand_grid, run_grid  # noqa: E402
from engine.strategies.registry import get_strategy  # noqa: E402

VECTORBT_W3_PER_S = 796.0  # WORKLOADS.md peer table: vectorbt (numba), W3, 90 backtests in 113 ms

GRIDS: dict[str, dict[str, list[int]]] = {
    "10x10": {"fast": list(range(5, 55, 5)), "slow": list(range(60, 260, 20))},
    "50x50": {"fast": list(range(2, 52)), "slow": list(range(60, 260, 4))},
    "W3 (90)": {"fast": list(range(5, 55, 5)), "slow": list(range(20, 220, 20))},
    "W6": {"fast": list(range(2, 101, 2)), "slow": list(range(10, 501, 10))},
}


def time_grid(data, cls, sets, repeats: int, workers: int | None) -> tuple[list[float], object]:
    """Wall times (s) of `repeats` calls after one warm-up call, and the last GridResult."""
    result = run_grid(data, cls, sets, BacktestConfig(), workers=workers)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run_grid(data, cls, sets, BacktestConfig(), workers=workers)
        times.append(time.perf_counter() - t0)
    return times, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None, help="threads (default: one per core)")
    ap.add_argument("--symbol", default="SPY")
    args = ap.parse_args(argv)

    data = load_market_data([args.symbol])
    cls = get_strategy("sma_cross")
    print(
        f"sma_cross on {args.symbol}: {len(data):,} bars {data.index[0]:%Y-%m-%d} .. {data.index[-1]:%Y-%m-%d}; "
        f"{os.cpu_count()} cores, workers={args.workers or 'auto'}; best (median) of {args.repeats} after warm-up"
    )
    print(
        f"{'grid':<9} {'sets':>6} {'best s':>9} {'median s':>9} {'backtests/s':>12} {'vs vectorbt W3':>15}  best by sharpe"
    )
    for label, ranges in GRIDS.items():
        sets = expand_grid(ranges, strategy_cls=cls)
        times, result = time_grid(data, cls, sets, args.repeats, args.workers)
        best, med = min(times), statistics.median(times)
        rate = len(sets) / best
        table = result.table()
        top = table.loc[table["sharpe"].idxmax()]
        top_ret = table.loc[table["total_return"].idxmax()]
        print(
            f"{label:<9} {len(sets):>6,} {best:>9.3f} {med:>9.3f} {rate:>12,.0f} {rate / VECTORBT_W3_PER_S:>14.2f}x"
            f"  ({int(top.fast)}, {int(top.slow)}) sharpe {top.sharpe:.4f}; by return ({int(top_ret.fast)}, "
            f"{int(top_ret.slow)}) {top_ret.total_return:.2%}"
        )
    print("W3 reference: best by return (45, 200) 2258.85 %; best by Sharpe (10, 200) 0.8142")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

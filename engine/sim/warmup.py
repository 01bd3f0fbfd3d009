"""Compile and cache every numba kernel once (`python -m engine.sim.warmup`), so the first backtest of a new
process loads machine code from numba's cache instead of compiling (seconds) — run by the set-up script."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

from engine import jit
from engine.config import BacktestConfig, Risk
from engine.data.market import MarketData
from engine.sim.grid import expand_grid, run_grid
from engine.sim.simulate import run_backtest
from engine.strategies.registry import get_strategy


def warm_up() -> float:
    """Run tiny backtests (one and two symbols, with and without stops), a 4-set grid (serial metrics) and a
    40-set grid (parallel metrics): every kernel signature a backtest or grid uses; returns seconds taken."""
    start = time.perf_counter()
    n = 300
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, n)))
    frame = pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1.0},
        index=pd.bdate_range("2020-01-01", periods=n),
    )
    data = MarketData.from_frames({"A": frame, "B": frame * 1.1})
    cls = get_strategy("sma_cross")
    one = MarketData.from_frames({"A": frame})
    for d in (data, one):
        _ = run_backtest(d, cls({"fast": 5, "slow": 20}), BacktestConfig(risk=Risk(stop_loss=0.05))).trades
        _ = run_backtest(d, cls({"fast": 5, "slow": 20})).trades  # .trades compiles the trade kernels
        _ = run_backtest(d, cls({"fast": 5, "slow": 20})).weights  # one symbol: engine.sim.single's weights
        run_grid(d, cls, expand_grid({"fast": [2, 3], "slow": [20, 30]}, strategy_cls=cls))
        run_grid(d, cls, expand_grid({"fast": range(2, 10), "slow": range(20, 70, 10)}, strategy_cls=cls))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Compile (or load) every kernel in the compiled tier, then write the warm marker (engine.jit).

    `--background` is how engine.jit starts it from a first call: quiet, and it removes the warm-up lock.
    """
    args = sys.argv[1:] if argv is None else argv
    os.environ["IVYBT_JIT"] = "compiled"  # this process must compile, not interpret
    try:
        seconds = warm_up()
        jit.mark_warm()
    finally:
        if "--background" in args:
            jit.clear_warming_lock()
    if "--background" not in args:
        print(f"IvyBT kernels compiled and cached in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

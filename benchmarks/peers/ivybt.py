"""IvyBT cells, through the engine's public API only.

MarketData.from_frames -> registry.create_strategy("sma_cross") -> simulate.run_backtest (the full result:
equity, trades, fills, metrics, benchmark) for single backtests; grid.expand_grid + grid.run_grid for W3/W6.
Numbers come from the engine's own metrics (`result.metrics`, `GridResult.metrics`).

Every timed cell starts from the pandas frames the peers get (`Inputs.frames`, `Inputs.w5`): the conversion
into the engine's MarketData (`MarketData.from_frames`) is inside the cell, as vectorbt's own conversion of
the same frames is inside its cells. W4 includes aligning the 36 symbols on the union calendar (vectorbt's
W4 includes its union-calendar prep); W4 sleeves builds each symbol's MarketData and the union calendar the
curves are summed on. "W4 sim" alone runs on MarketData built beforehand (run_backtest only, beside
vectorbt's from_orders on its prepared inputs).

Grids run on every core by default (numba threads and the grid's own worker threads); the "1 thread" cells
pin both to one (`workers=1` and `numba.set_num_threads(1)` for the call), as the peers run on one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.peers import Inputs
from benchmarks.workloads import (
    CASH,
    FAST,
    FEE_W2,
    SLOW,
    W3_FAST,
    W3_SLOW,
    W6_FAST,
    W6_SLOW,
    GridOutcome,
    Outcome,
    best_of_grid,
    grid_pairs,
    rule7,
    sum_sleeves,
)
from engine.config import BacktestConfig, Costs
from engine.data import MarketData
from engine.data.market import union_index
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy, get_strategy

NAME = "IvyBT"


def market_data(frames: Mapping[str, pd.DataFrame]) -> MarketData:
    """The engine's container for already-loaded bars (union calendar, NaN where a symbol has no bar)."""
    return MarketData.from_frames(frames)


def config(fee: float = 0.0, cash: float = CASH) -> BacktestConfig:
    """WORKLOADS settings: all-in fractional, next-open fills, fee as a fraction of traded value per side."""
    return BacktestConfig(initial_cash=cash, costs=Costs(commission_bps=fee * 1e4))


def backtest(data: MarketData, fast: int = FAST, slow: int = SLOW, fee: float = 0.0, cash: float = CASH):
    """One full `run_backtest` of sma_cross (the BacktestResult)."""
    return run_backtest(data, create_strategy("sma_cross", {"fast": fast, "slow": slow}), config(fee, cash))


def single(data: MarketData, fast: int = FAST, slow: int = SLOW, fee: float = 0.0) -> Outcome:
    """W1/W2/W5 (and W4 on a multi-symbol MarketData): one backtest, numbers from the engine's metrics."""
    m = backtest(data, fast, slow, fee).metrics
    return Outcome(
        m["final_equity"], m["total_return"] * 100.0, int(m["n_trades"]), m["max_drawdown"] * 100.0, m["sharpe"]
    )


@contextmanager
def numba_threads(threads: int | None) -> Iterator[None]:
    """numba's parallel regions started from this thread use `threads` threads inside the block (None: as
    configured, every core by default); the previous count is restored after it."""
    if threads is None:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def grid(data: MarketData, fast: range, slow: range, threads: int | None = None) -> GridOutcome:
    """W3/W6: every (fast, slow) with fast < slow through run_grid; best by total return and by Sharpe.

    threads: None = the grid's default (every core); 1 = one grid worker and one numba thread (the peers' one)."""
    # here, not at the top: a single backtest (the first-call probe) does not load the grid module
    from engine.sim.grid import expand_grid, run_grid

    cls = get_strategy("sma_cross")
    sets = expand_grid({"fast": list(fast), "slow": list(slow)}, strategy_cls=cls)
    with numba_threads(threads):
        res = run_grid(data, cls, sets, config(), workers=threads)
    pairs = list(zip(res.params["fast"].to_numpy().tolist(), res.params["slow"].to_numpy().tolist()))  # ints
    return best_of_grid(
        pairs,
        res.metrics["total_return"].to_numpy() * 100.0,
        res.metrics["sharpe"].to_numpy(),
        len(fast) * len(slow) - len(pairs),
    )


def portfolio(frames: Mapping[str, pd.DataFrame]) -> Outcome:
    """W4 shared cash, alignment included: from_frames + one run_backtest over every symbol."""
    return single(market_data(frames))


def sleeves(frames: Mapping[str, pd.DataFrame]) -> Outcome:
    """W4 sleeves: one backtest per symbol (its own MarketData) with CASH / N each, equity curves summed on
    the union calendar of the frames."""
    cash_each = CASH / len(frames)
    curves, trades = {}, 0
    for sym, df in frames.items():
        res = backtest(market_data({sym: df}), cash=cash_each)
        curves[sym] = res.equity
        trades += int(res.metrics["n_trades"])
    index = union_index([df.index for df in frames.values()])
    return rule7(sum_sleeves(curves, index, cash_each), trades)


def prepare(inputs: Inputs) -> dict[str, Callable[[], Any]]:
    """Zero-argument cells for every workload this engine runs, each from the pandas frames (conversion timed);
    only "W4 sim" runs on MarketData built here."""
    spy = {inputs.grid_symbol: inputs.grid}
    all_data = market_data(inputs.frames)
    cells: dict[str, Callable[[], Any]] = {
        "W1": lambda: single(market_data(spy)),
        "W2": lambda: single(market_data(spy), fee=FEE_W2),
        "W3": lambda: grid(market_data(spy), W3_FAST, W3_SLOW),
        "W3 1 thread": lambda: grid(market_data(spy), W3_FAST, W3_SLOW, threads=1),
        "W4": lambda: portfolio(inputs.frames),
        "W4 sim": lambda: single(all_data),
        "W4 sleeves": lambda: sleeves(inputs.frames),
        "W6": lambda: grid(market_data(spy), W6_FAST, W6_SLOW),
        "W6 1 thread": lambda: grid(market_data(spy), W6_FAST, W6_SLOW, threads=1),
    }
    if inputs.w5 is not None:
        w5 = {"W5": inputs.w5}
        cells["W5"] = lambda: single(market_data(w5))
    return cells


def w6_count() -> tuple[int, int]:
    """(backtests, skipped) of the W6 grid."""
    pairs, skipped = grid_pairs(W6_FAST, W6_SLOW)
    return len(pairs), skipped


def equity_span(outcome_data: MarketData) -> tuple[float, float]:
    """(min, max) of the W1 equity on `outcome_data`: W5's 'orders of magnitude' figure."""
    eq = backtest(outcome_data).equity.to_numpy()
    return float(np.min(eq)), float(np.max(eq))


def jit_warmup(inputs: Inputs) -> None:  # noqa: ARG001 - the harness's hook signature
    """Compile (or load from numba's cache) every kernel the cells use, untimed: engine.sim.warmup's small
    backtests and grids. Without it the first cell's warm-up call pays the JIT (~30 s on an empty cache) and
    that cell is timed fewer times."""
    from engine.sim.warmup import warm_up

    warm_up()

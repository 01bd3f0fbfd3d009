"""Event mode (issue 17) against backtesting.py, in the same run: W1 and W5 as event strategies.

IvyBT's `sma_cross_event` (engine.strategies.event_systems: market orders bar by bar through the simulated broker)
on W1 (SPY, 8,397 bars) and W5 (1,000,000 bars), timed like every cell (one warm-up, median of N), beside
backtesting.py's own W1 / W5 cells of the same run (its `next()` per bar is the event-driven model we compare
with), the cost per bar of both IvyBT modes, and the full BTC-PERP 1-minute file as an event backtest.
Target: event mode at least 5x faster than backtesting.py on W1 and W5. Each event answer must equal the WORKLOADS
reference (W1) or IvyBT's vectorized run (W5), else it is a wrong number.

Design that gets there: bars are read from Python lists made once (no per-bar pandas), a bar is a two-field view,
the broker is skipped on bars without a working order, order times are made only when read, and equity, cash and
positions are built after the loop from the fills (engine.sim.event).

Standalone: `python -m benchmarks.event_mode [--repeats N] [--no-w5]` times backtesting.py itself.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.timing import Timing, measure
from benchmarks.workloads import CASH, GRID_SYMBOL, W5_BARS, W5_SYMBOL, load_frames, scaled_series

TARGET = 5.0
BTC = "BTC-PERP"  # the bundled 1-minute series (engine/data/sample/intraday)


def _event_run(data: Any) -> Any:
    from engine.config import BacktestConfig
    from engine.sim.event.run import run_event_backtest
    from engine.strategies.event_systems import SmaCrossEvent

    return run_event_backtest(data, SmaCrossEvent(), BacktestConfig(initial_cash=CASH))


def _vector_run(data: Any) -> Any:
    from engine.config import BacktestConfig
    from engine.sim.simulate import run_backtest
    from engine.strategies.crossover import SmaCross

    return run_backtest(data, SmaCross(), BacktestConfig(initial_cash=CASH))


def _data(frame: pd.DataFrame, symbol: str) -> Any:
    from benchmarks.peers import ivybt

    return ivybt.market_data({symbol: frame})


def section(
    frames: dict[str, pd.DataFrame],
    w5: pd.DataFrame | None,
    repeats: int,
    btpy: dict[str, float | None],
) -> tuple[list[str], list[str]]:
    """(report lines, wrong numbers). `btpy`: backtesting.py's median seconds per workload of the same run (None =
    not measured)."""
    lines, problems = [], []
    cases: list[tuple[str, pd.DataFrame, str]] = [("W1", frames[GRID_SYMBOL], GRID_SYMBOL)]
    if w5 is not None:
        cases.append(("W5", w5, "W5"))
    for label, frame, symbol in cases:
        data = _data(frame, symbol)
        event_t, event = measure(lambda data=data: _event_run(data), repeats, budget=120.0)
        vector_t, vector = measure(lambda data=data: _vector_run(data), repeats, budget=120.0)
        rel = float(np.max(np.abs(event.equity.to_numpy() / vector.equity.to_numpy() - 1.0)))
        if rel > 1e-9 or len(event.trades) != len(vector.trades):
            problems.append(f"event {label}: equity differs from the vectorized run by {rel:.2e} relative")
        n = len(data)
        peer = btpy.get(label)
        ratio = peer / event_t.median if peer else None
        verdict = ("PASS" if ratio >= TARGET else "FAIL") if ratio else "-"
        lines.append(
            f"event {label}: sma_cross_event {_ms(event_t)} = {event_t.median / n * 1e9:,.0f} ns/bar "
            f"(vectorized {_ms(vector_t)} = {vector_t.median / n * 1e9:,.0f} ns/bar); backtesting.py "
            f"{f'{peer * 1e3:,.1f} ms' if peer else 'not measured'}; event mode "
            f"{f'{ratio:.1f}x faster' if ratio else 'n/a'} (target >= {TARGET:g}x: {verdict}); "
            f"final equity {event.metrics['final_equity']:,.2f}, {len(event.trades)} trades"
        )
    from engine.data import load_market_data
    from engine.errors import DataError

    try:
        data = load_market_data([BTC])
    except DataError as e:
        lines.append(f"event BTC-PERP 1 min: not measured ({e})")
    else:
        t, run = measure(lambda data=data: _event_run(data), max(1, repeats // 2), budget=120.0)
        lines.append(
            f"event BTC-PERP 1 min, the full file ({len(data):,} bars): {_ms(t)} = {t.median / len(data) * 1e9:,.0f} "
            f"ns/bar, {len(run.trades)} trades"
        )
    return lines, problems


def _ms(t: Timing) -> str:
    return f"{t.median * 1e3:,.1f} ms (best {t.best * 1e3:,.1f})"


def _btpy_medians(frames: dict[str, pd.DataFrame], w5: pd.DataFrame | None, repeats: int) -> dict[str, float | None]:
    from benchmarks.peers import btpy

    out: dict[str, float | None] = {}
    for label, frame in (("W1", frames[GRID_SYMBOL]), ("W5", w5)):
        if frame is None:
            continue
        bt = btpy.make_backtest(btpy.native_frame(frame))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run: Callable[[], Any] = bt.run
            out[label] = measure(run, repeats if label == "W1" else 1, budget=120.0)[0].median
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.event_mode", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-w5", action="store_true", help="skip W5 (1M bars; backtesting.py takes ~10 s on it)")
    args = p.parse_args(argv)
    from engine.data.sources import SAMPLE_DIR

    frames = load_frames(SAMPLE_DIR)
    w5 = None if args.no_w5 else scaled_series(frames[W5_SYMBOL], W5_BARS)
    lines, problems = section(frames, w5, args.repeats, _btpy_medians(frames, w5, args.repeats))
    print("\n".join(lines))
    for problem in problems:
        print(f"WRONG NUMBER: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

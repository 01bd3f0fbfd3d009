"""`python -m benchmarks.run`: W1-W7 for IvyBT, vectorbt (numba) and backtesting.py in one process run.

Every engine's answer is checked (reference numbers of WORKLOADS.md for W1-W4, engine agreement for W4
sleeves, W5 and W6); a wrong number makes the run exit 1 after printing which number was off. Target misses
are printed as FAIL but do not change the exit code. Results go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    # Our own numba cache, keyed by numba version: a bench venv with another numba must not overwrite the
    # compiled kernels of the development venv (both would otherwise share engine/__pycache__).
    try:
        _numba = metadata.version("numba")
    except metadata.PackageNotFoundError:
        _numba = "none"
    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "benchmarks" / ".cache" / f"numba-{_numba}"))
    # In-process timings are of the compiled engine (engine.jit would interpret small cells on a cold cache);
    # the first-call probes set their own tier.
    os.environ.setdefault("IVYBT_JIT", "compiled")

import argparse  # noqa: E402
import importlib  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import event_mode, probes, report  # noqa: E402
from benchmarks.fused_floor import fused_floor  # noqa: E402
from benchmarks.peers import Inputs  # noqa: E402
from benchmarks.timing import CellTimeout, Paired, Timing, machine, measure, measure_pair, versions  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    GRID_SYMBOL,
    REFERENCE,
    W5_BARS,
    W5_SYMBOL,
    W7_BARS,
    GridOutcome,
    Outcome,
    check_agreement,
    check_reference,
    exact_ties,
    load_frames,
    numpy_floor,
    scaled_series,
)

ENGINES = {
    "ivybt": "benchmarks.peers.ivybt",
    "vectorbt": "benchmarks.peers.vbt",
    "backtesting": "benchmarks.peers.btpy",
}
WORKLOADS = (
    "W1",
    "W2",
    "W1 cold",
    "W2 cold",
    "W1 whole shares",
    "W2 whole shares",
    "W3",
    "W3 1 thread",
    "W3 optimize",
    "W4",
    "W4 sim",
    "W4 sleeves",
    "W5",
    "W6",
    "W6 1 thread",
)
QUICK_SKIP = {("backtesting.py", "W3"), ("backtesting.py", "W5"), ("backtesting.py", "W3 optimize")}
ONCE = {"W3 optimize"}  # extras timed by a single call
COLD = {"W1 cold": "W1", "W2 cold": "W2"}  # the same cell, a full gc.collect() before each timed call
ONE_THREAD = {"W3 1 thread": "W3", "W6 1 thread": "W6"}  # IvyBT's grid pinned to one thread (the peers' count)
BTPY_REL = {"W5": 1e-6, "W4 sleeves": 1e-4}  # whole 1e-6-share units (2,778-dollar sleeves round the most)
SAMPLE_DIR = ROOT / "engine" / "data" / "sample"


@dataclass
class Cell:
    """One (workload, engine) measurement: timing and answer, or why it was skipped."""

    workload: str
    engine: str
    timing: Timing | None = None
    outcome: Outcome | GridOutcome | None = None
    skipped: str | None = None


PAIRED_ROUNDS = 7
"""Rounds of the alternate timing behind issue 19's ratio targets (`timing.measure_pair`)."""


@dataclass
class Run:
    """Everything one harness run measured (what report.py prints and writes)."""

    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    floor: Cell | None = None
    fused: Cell | None = None
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    w7: list[dict[str, float]] = field(default_factory=list)
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)
    grid10k: list[dict[str, Any]] = field(default_factory=list)
    batches: dict[str, Any] = field(default_factory=dict)
    paired: dict[str, Paired] = field(default_factory=dict)
    """Issue 19's ratio targets timed alternately (timing.measure_pair): target name -> IvyBT (a) vs the
    reference (b)."""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, str] = field(default_factory=machine)
    versions: dict[str, str] = field(default_factory=versions)

    def get(self, workload: str, engine: str) -> Cell | None:
        return self.cells.get((workload, engine))


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _time_cell(run: Run, workload: str, engine: str, fn: Any, repeats: int, timeout: float | None) -> Cell:
    cell = Cell(workload, engine)
    try:
        if workload in ONCE:
            t0 = time.perf_counter()
            cell.outcome = fn()
            dt = time.perf_counter() - t0
            cell.timing = Timing(dt, dt, 1, dt)
        else:
            cell.timing, cell.outcome = measure(fn, repeats, timeout, cold=workload in COLD)
    except CellTimeout:
        cell.skipped = f"over {timeout:.0f} s"
    run.cells[(workload, engine)] = cell
    if cell.timing:
        _log(
            f"  {workload:<16} {engine:<15} median {cell.timing.median * 1e3:10.1f} ms "
            f"(best {cell.timing.best * 1e3:.1f}, n={cell.timing.n})"
        )
    else:
        _log(f"  {workload:<16} {engine:<15} skipped ({cell.skipped})")
    return cell


def _check(run: Run) -> None:
    """Reference numbers where WORKLOADS gives them, engine agreement elsewhere."""
    for (workload, engine), cell in run.cells.items():
        if cell.outcome is None or "whole shares" in workload or workload == "W3 optimize":
            continue
        ref_key = {"W4 sim": "W4", **COLD, **ONE_THREAD}.get(workload, workload)
        if ref_key in REFERENCE or ref_key == "W3":
            run.problems += [f"{engine} {p}" for p in check_reference(ref_key, cell.outcome)]
    opt = run.get("W3 optimize", "backtesting.py")
    if opt and opt.outcome and opt.outcome.best_return != (45, 200):
        run.problems.append(f"backtesting.py W3 optimize: best by return {opt.outcome.best_return}, expected (45, 200)")
    base = "IvyBT"
    for workload in ("W4 sleeves", "W5", "W6"):
        ours = run.get(workload, base)
        for engine in run.engines:
            theirs = run.get(workload, engine)
            if engine == base or not ours or not theirs or ours.outcome is None or theirs.outcome is None:
                continue
            if isinstance(ours.outcome, GridOutcome):
                run.problems += _grid_agreement(workload, ours.outcome, engine, theirs.outcome)
            else:
                rel = BTPY_REL.get(workload, 1e-9) if engine == "backtesting.py" else 1e-9
                run.problems += check_agreement(workload, base, ours.outcome, engine, theirs.outcome, rel)
    for one, every in ONE_THREAD.items():  # one thread or every core: the same grid, the same numbers
        a, b = run.get(one, base), run.get(every, base)
        if a and b and a.outcome is not None and b.outcome is not None and a.outcome != b.outcome:
            run.problems.append(f"{one}: IvyBT on one thread {a.outcome.short()} != every core {b.outcome.short()}")
    sl_ivy, sl_bt = run.get("W4 sleeves", base), run.get("W4 sleeves", "backtesting.py")
    if sl_ivy and sl_bt and sl_ivy.outcome and sl_bt.outcome:
        rel = sl_bt.outcome.final / sl_ivy.outcome.final - 1
        run.notes.append(
            f"W4 sleeves: backtesting.py's summed final equity is {rel:+.2e} relative to IvyBT's "
            "(whole 1e-6-share units, and `crossover()` has no tie rule; exact SMA ties at "
            f"{', '.join(run.settings.get('ties', [])) or 'none'})."
        )
    if run.floor and run.floor.outcome and run.get("W5", base) and run.get("W5", base).outcome:
        run.problems += check_agreement("W5", base, run.get("W5", base).outcome, "numpy floor", run.floor.outcome)
    if run.fused and run.fused.outcome and run.get("W5", base) and run.get("W5", base).outcome:
        run.problems += check_agreement("W5", base, run.get("W5", base).outcome, "fused floor", run.fused.outcome)


def _grid_agreement(workload: str, a: GridOutcome, engine: str, b: GridOutcome) -> list[str]:
    problems = []
    for name in ("count", "best_return", "best_sharpe"):
        if getattr(a, name) != getattr(b, name):
            problems.append(f"{workload}: {name} IvyBT = {getattr(a, name)} vs {engine} = {getattr(b, name)}")
    for name in ("best_return_pct", "best_sharpe_value"):
        x, y = getattr(a, name), getattr(b, name)
        if not abs(x - y) <= 1e-9 * max(abs(x), abs(y)):
            problems.append(f"{workload}: {name} IvyBT = {x!r} vs {engine} = {y!r} (allowed relative 1e-9)")
    return problems


def _w7(run: Run, inputs: Inputs, repeats: int) -> None:
    from benchmarks.peers import ivybt

    for n in W7_BARS:
        frames = {"W7": scaled_series(inputs.frames[W5_SYMBOL], n)}  # the frame; its conversion is timed
        ivy_fn = lambda frames=frames: ivybt.single(ivybt.market_data(frames))  # noqa: E731
        timing, outcome = measure(ivy_fn, repeats, budget=120.0)
        bars = frames["W7"]
        floor_fn = lambda bars=bars: fused_floor(bars["open"].to_numpy(), bars["close"].to_numpy())  # noqa: E731
        floor_t, floor = measure(floor_fn, repeats, budget=60.0)
        pair = measure_pair(ivy_fn, floor_fn, PAIRED_ROUNDS, budget=120.0)
        run.paired[f"W7 {n}"] = pair
        run.problems += check_agreement(f"W7 {n:,} bars", "IvyBT", outcome, "fused floor", floor)
        run.w7.append(
            {
                "bars": n,
                "median": timing.median,
                "best": timing.best,
                "n": timing.n,
                "per_bar_ns": timing.median / n * 1e9,
                "final": outcome.final,
                "trades": outcome.trades,
                "floor_ns": floor_t.median / n * 1e9,
            }
        )
        _log(
            f"  W7 {n:>10,} bars   median {timing.median:.3f} s = {timing.median / n * 1e9:.1f} ns/bar "
            f"(fused floor {floor_t.median / n * 1e9:.1f} ns/bar; paired ratio {pair.ratio:.2f})"
        )
        del frames, bars


def _grid_threads() -> str:
    """What "every core" means for IvyBT's grid in this process: its worker threads and numba's threads."""
    from engine.sim.grid import default_workers

    numba = sys.modules.get("numba")
    threads = f"{default_workers()} grid workers"
    return threads + (f", {numba.get_num_threads()} numba threads" if numba is not None else "")


def _median_of(run: Run, workload: str, engine: str) -> float | None:
    cell = run.get(workload, engine)
    return cell.timing.median if cell is not None and cell.timing is not None else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument(
        "--data-dir",
        type=Path,
        default=SAMPLE_DIR,
        help="folder of <SYMBOL>.csv daily files (default: the bundled sample = the shared data)",
    )
    p.add_argument("--repeats", type=int, default=5, help="timed calls per cell after one warm-up (default 5)")
    p.add_argument(
        "--quick", action="store_true", help="skip the slowest peer cells (backtesting.py W3, W5 and Backtest.optimize)"
    )
    p.add_argument("--timeout", type=float, default=120.0, help="a peer call slower than this is recorded skipped")
    p.add_argument(
        "--engines",
        default="ivybt,vectorbt,backtesting",
        help="comma list of ivybt, vectorbt, backtesting (default all three)",
    )
    p.add_argument("--no-probes", action="store_true", help="skip the subprocess probes (latency, W6 memory)")
    p.add_argument("--no-w7", action="store_true", help="skip W7 (1M and 10M bars)")
    p.add_argument("--no-event", action="store_true", help="skip the event-mode rows (issue 17)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md", help="markdown report path")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    run = Run(
        settings={"repeats": args.repeats, "quick": args.quick, "timeout": args.timeout, "data_dir": str(args.data_dir)}
    )
    modules = {}
    for key in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if key not in ENGINES:
            print(f"unknown engine {key!r}; choose from {sorted(ENGINES)}", file=sys.stderr)
            return 2
        try:
            modules[key] = importlib.import_module(ENGINES[key])
        except ImportError as e:
            print(
                f"cannot import {key} ({e}); install the bench extra: make bench (see benchmarks/README.md)",
                file=sys.stderr,
            )
            return 2
    if "ivybt" not in modules:
        print("the ivybt engine is required (ratios are IvyBT / peer)", file=sys.stderr)
        return 2
    _log(f"loading {args.data_dir} ...")
    frames = load_frames(args.data_dir)
    for needed in (GRID_SYMBOL, W5_SYMBOL):
        if needed not in frames:
            print(f"{args.data_dir}: {needed}.csv is required by the workloads", file=sys.stderr)
            return 2
    inputs = Inputs(args.data_dir, frames, GRID_SYMBOL, scaled_series(frames[W5_SYMBOL], W5_BARS))
    run.settings["ties"] = exact_ties(frames)
    cells = {}
    for mod in modules.values():
        if hasattr(mod, "jit_warmup"):
            _log(f"compiling {mod.NAME} kernels (untimed) ...")
            mod.jit_warmup(inputs)
        cells[mod.NAME] = mod.prepare(inputs)
        run.engines.append(mod.NAME)
    run.settings["grid_threads"] = _grid_threads()
    _log(f"timing: one warm-up call, then best/median of {args.repeats}")
    for workload in WORKLOADS:
        for engine in run.engines:
            fn = cells[engine].get(COLD.get(workload, workload))
            if fn is None:
                continue
            if args.quick and (engine, workload) in QUICK_SKIP:
                run.cells[(workload, engine)] = Cell(workload, engine, skipped="--quick")
                continue
            timeout = None if engine == "IvyBT" else args.timeout
            _time_cell(run, workload, engine, fn, args.repeats, timeout)
            if workload == "W5" and engine == "IvyBT":
                w5 = inputs.w5
                timing, outcome = measure(
                    lambda w5=w5: numpy_floor(w5["open"].to_numpy(), w5["close"].to_numpy()), args.repeats
                )
                run.floor = Cell("W5", "numpy floor", timing, outcome)
                _log(f"  {'W5':<16} {'numpy floor':<15} median {timing.median * 1e3:10.1f} ms")
                floor_fn = lambda w5=w5: fused_floor(w5["open"].to_numpy(), w5["close"].to_numpy())  # noqa: E731
                timing, outcome = measure(floor_fn, args.repeats)
                run.fused = Cell("W5", "fused floor", timing, outcome)
                _log(f"  {'W5':<16} {'fused floor':<15} median {timing.median * 1e3:10.1f} ms")
                run.paired["W5 fused"] = pair = measure_pair(fn, floor_fn, PAIRED_ROUNDS)
                _log(f"  {'W5':<16} {'paired':<15} IvyBT / fused floor {pair.ratio:.2f} over {pair.rounds} rounds")
    if "IvyBT" in cells and "vectorbt" in cells:  # issue 19's grid targets, IvyBT and vectorbt alternately
        for workload in ("W3", "W6"):
            for ours in (workload, f"{workload} 1 thread"):
                if ours in cells["IvyBT"] and workload in cells["vectorbt"]:
                    pair = measure_pair(cells["IvyBT"][ours], cells["vectorbt"][workload], PAIRED_ROUNDS, 120.0)
                    run.paired[f"{ours} vs vectorbt"] = pair
                    _log(
                        f"  {ours:<16} {'paired':<15} vectorbt / IvyBT time {1 / pair.ratio:.2f} ({pair.rounds} rounds)"
                    )
    if not args.no_event:  # issue 17: event mode beside backtesting.py's cells of this run
        _log("event mode: sma_cross_event on W1 and W5, BTC-PERP 1 min ...")
        btpy = {w: _median_of(run, w, "backtesting.py") for w in ("W1", "W5")}
        lines, wrong = event_mode.section(frames, None if args.quick else inputs.w5, args.repeats, btpy)
        run.notes += lines
        run.problems += wrong
    if not args.no_w7:
        _w7(run, inputs, args.repeats)
    if not args.no_probes:
        _log("probes: first-call latency and W6 peak memory (fresh processes) ...")
        run.latency = probes.first_call_latency(args.data_dir)
        for key, name in (("ivybt", "IvyBT"), ("vectorbt", "vectorbt")):
            if key in modules:
                run.memory[name] = probes.peak_memory(key, args.data_dir)
        _log("probes: IvyBT's 10,000-set grid on one thread and every core, 100,000 sets on every core ...")
        from benchmarks import grid_memory

        run.grid10k = [grid_memory.measure("10k", threads) for threads in (1, 0)] + [grid_memory.measure("100k", 0)]
        _log("probes: the shipped 16-job batch on 1 and 2 workers, local pool and Dask (benchmarks.batch_speedup) ...")
        from benchmarks import batch_speedup

        run.batches = batch_speedup.measure()
    _check(run)
    text = report.console(run)
    print(text)
    args.out.write_text(report.markdown(run))
    print(f"\nwrote {args.out}")
    if run.problems:
        print("\nWRONG NUMBERS (the run fails):", file=sys.stderr)
        for p in run.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Batch scaling (issue 19 item 3): a batch on 1, 2 (and 4, when the machine has them) warm workers, on the local
pool and on a Dask LocalCluster, with the targets PASS/FAIL. Not a test.

Each job is a full batch job: load data, backtest, write its HTML figure when the batch asks, save the run
(Parquet frames into SQLite), mark it done. Each runner is made and warmed once (`Runner.warm_up(jobs)`: the
engine, numba's cached kernels, plotly, each strategy's kernels, once per process; not timed), then the
batch is submitted and run `--repeat` times on it and the best time is kept: what a runner that lives
across batches (the app's, a long `ivybt worker`) costs per batch; the runners of one worker count run one
after the other (one runner alive at a time). Targets: 2 local workers >= 1.8x one local worker; Dask within
1.1x of the local pool at each worker count. Both are judged on alternate rounds (`paired_ratio`: the two
runners warm and alive, one batch on each per round), so a slow spell of a shared machine weighs on both sides;
the load average is printed before and after (a busy core is not a worker's).

    .venv/bin/python benchmarks/batch_speedup.py [--batch batches/mean_reversion_universe.yaml | --jobs 40]
        [--runners local,dask] [--repeat 3] [--rounds 7]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import run_child  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "batches" / "mean_reversion_universe.yaml"
"""The shipped 16-job batch (2 mean-reversion strategies x 8 sector ETFs, HTML artifacts on)."""
SPEEDUP_TARGET = 1.8
DASK_TARGET = 1.1
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


def best_times(runners: list[str], workers: int, text: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """runner -> (best of `repeat` runs of the batch `text` on one warmed runner, the runner's start, its
    warm-up), in seconds; only the first is compared (start and warm-up are paid once per runner, not per batch).
    One runner at a time (a Dask cluster idling beside the pool slowed the pool's batches by ~10 %), the
    runners of one worker count one after the other, so they meet the same spell of a shared machine."""
    from engine.batch import parse_batch
    from engine.batch.queue import JobQueue
    from engine.batch.runners import make_runner, run_batch

    batch = parse_batch(text, "bench.yaml")
    queue = JobQueue()
    out: dict[str, tuple[float, float, float]] = {}
    for name in runners:
        times = []
        t0 = time.perf_counter()
        with make_runner(name, workers=workers) as runner:
            t1 = time.perf_counter()
            runner.warm_up(batch.jobs)
            t2 = time.perf_counter()
            for _ in range(repeat):
                batch_id = queue.submit(batch)
                start = time.perf_counter()
                counts = run_batch(queue, batch_id, runner)
                times.append(time.perf_counter() - start)
                if counts["done"] != len(batch.jobs):
                    raise SystemExit(f"{name} x{workers}: only {counts['done']} of {len(batch.jobs)} jobs done")
        out[name] = (min(times), t1 - t0, t2 - t1)
    return out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def measure_all(
    text: str, runners: list[str], counts: list[int], repeat: int, say: Any = print, rounds: int = 7
) -> dict[str, Any]:
    """Best batch time per (runner, workers) in a private workspace, with each runner's start and warm-up."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ivybt-bench-") as home:
        os.environ["IVYBT_HOME"] = home
        from engine.batch import parse_batch
        from engine.data import load_market_data

        for job in parse_batch(text, "bench.yaml").jobs:  # fill the Parquet cache once, outside the timings
            load_market_data(list(job.request.symbols), job.request.start, job.request.end)
        load_market_data(["SPY"])
        before = load()
        for workers in counts:
            for name, (t, started, warm) in best_times(runners, workers, text, repeat).items():
                rows.append({"runner": name, "workers": workers, "seconds": t, "start": started, "warm": warm})
                say(
                    f"  {name:5s} x{workers}: {t:.2f} s (not timed: runner start {started:.2f} s, warm-up "
                    f"{warm:.2f} s; load {load()})",
                )
        result: dict[str, Any] = {"rows": rows, "load_before": before, "cores": os.cpu_count(), "repeat": repeat}
        if "local" in runners and 2 in counts:
            result["local_pair"] = pair = paired_ratio(text, ("local", 1), ("local", 2), rounds)
            say(f"  local x1 / x2, alternate batches: {pair['ratio']:.2f}x over {pair['rounds']} rounds")
        if "local" in runners and "dask" in runners:
            result["dask_pairs"] = {}
            for workers in counts:
                pair = paired_ratio(text, ("dask", workers), ("local", workers), rounds)
                result["dask_pairs"][str(workers)] = pair
                say(f"  dask / local x{workers}, alternate batches: {pair['ratio']:.2f} over {pair['rounds']} rounds")
    result["load_after"] = load()
    return result


def paired_ratio(text: str, a: tuple[str, int], b: tuple[str, int], rounds: int) -> dict[str, Any]:
    """time(a) / time(b) of the batch on two runners (name, workers), both warm and alive, batches run on them
    alternately (the order swapped every round): the median over the rounds, so a slow spell of a shared
    machine weighs on both sides. An idle pool process waits on a pipe and costs nothing; an idle Dask
    LocalCluster costs ~1.4 % of a core (engine.batch.runners.LOCAL_WORKER_CONFIG), which the local side pays."""
    from engine.batch import parse_batch
    from engine.batch.queue import JobQueue
    from engine.batch.runners import make_runner, run_batch

    batch = parse_batch(text, "bench.yaml")
    queue = JobQueue()
    times: dict[tuple[str, int], list[float]] = {a: [], b: []}
    with make_runner(a[0], workers=a[1]) as run_a, make_runner(b[0], workers=b[1]) as run_b:
        run_a.warm_up(batch.jobs)
        run_b.warm_up(batch.jobs)
        for i in range(rounds):
            for side, runner in ((a, run_a), (b, run_b)) if i % 2 == 0 else ((b, run_b), (a, run_a)):
                batch_id = queue.submit(batch)
                start = time.perf_counter()
                run_batch(queue, batch_id, runner)
                times[side].append(time.perf_counter() - start)
    ratios = sorted(x / y for x, y in zip(times[a], times[b], strict=True))
    half = len(ratios) // 2
    median = ratios[half] if len(ratios) % 2 else (ratios[half - 1] + ratios[half]) / 2
    return {"ratio": median, "rounds": rounds, "a": min(times[a]), "b": min(times[b])}


def ratio_lines(result: dict[str, Any]) -> list[tuple[str, float, float | None, bool]]:
    """(what, ratio, target, ok) for every worker count: speed-up over one worker (target: the local pool at 2
    workers; the rest reported) and Dask / local (target at every count)."""
    times = {(r["runner"], r["workers"]): r["seconds"] for r in result["rows"]}
    runners = sorted({r["runner"] for r in result["rows"]}, key=["local", "dask"].index)
    counts = sorted({r["workers"] for r in result["rows"]})
    out: list[tuple[str, float, float | None, bool]] = []
    for name in runners:
        for workers in counts[1:]:
            ratio = times[name, 1] / times[name, workers]
            target = SPEEDUP_TARGET if workers == 2 and name == "local" else None  # the target: the pool
            what = f"{name} speed-up x{workers} over x1"
            pair = result.get("local_pair") if target is not None else None
            if pair:  # alternate batches (paired_ratio): the judged figure
                ratio, what = pair["ratio"], f"{what} (median of {pair['rounds']} alternate rounds)"
            out.append((what, ratio, target, target is None or ratio >= target))
    if "local" in runners and "dask" in runners:
        for workers in counts:
            ratio, what = times["dask", workers] / times["local", workers], f"dask / local at x{workers}"
            pair = result.get("dask_pairs", {}).get(str(workers))
            if pair:  # alternate batches (paired_ratio): the judged figure
                ratio, what = pair["ratio"], f"{what} (median of {pair['rounds']} alternate rounds)"
            out.append((what, ratio, DASK_TARGET, ratio <= DASK_TARGET))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=Path, default=SHIPPED, help="batch YAML (default: the shipped 16-job one)")
    parser.add_argument("--jobs", type=int, help="instead of --batch: N generated crossover jobs (8 symbols each)")
    parser.add_argument("--runners", default="local,dask", help="comma-separated: local, dask")
    parser.add_argument("--repeat", type=int, default=3, help="best of N batches per runner and worker count")
    parser.add_argument("--rounds", type=int, default=7, help="alternate rounds behind the judged ratios (default 7)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line at the end")
    args = parser.parse_args()
    text = batch_yaml(args.jobs) if args.jobs else args.batch.read_text()
    label = f"{args.jobs} generated jobs" if args.jobs else args.batch.name
    runners = [r.strip() for r in args.runners.split(",") if r.strip()]
    counts = [1, 2] + ([4] if (os.cpu_count() or 1) >= 4 else [])
    say = (lambda *a, **k: print(*a, **k, file=sys.stderr, flush=True)) if args.json else print
    say(f"batch: {label}; {os.cpu_count()} cores; best of {args.repeat}; load before {load()}")
    result = measure_all(text, runners, counts, args.repeat, say, args.rounds)
    result["batch"] = label
    for what, ratio, target, ok in ratio_lines(result):
        verdict_text = (
            "" if target is None else f" (target {'>=' if 'speed-up' in what else '<='} {target}: {verdict(ok)})"
        )
        say(f"{what}: {ratio:.2f}{'x' if 'speed-up' in what else ''}{verdict_text}")
    say(f"load after {result['load_after']}")
    if args.json:
        print(json.dumps(result))


def measure(repeat: int = 5) -> dict[str, Any]:
    """The shipped batch on both runners in a fresh process (`make bench`'s probe); {"error": ...} if it failed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer, err, _ = run_child("benchmarks.batch_speedup", ["--json", "--repeat", str(repeat)], env)
    return answer if answer is not None else {"error": (err.strip().splitlines() or ["no output"])[-1]}


if __name__ == "__main__":
    main()

"""`ivybt optimize` and `ivybt walkforward`: flags -> OptimizeSpec / WalkForwardSpec -> one engine call -> print.

The strategy, symbols, dates, data folder and cost/fill/sizing flags are the same as `ivybt backtest` (and
are turned into a request by its `build_request`, so --preset and --config work too). Ranges:
`--range fast=5:50:5` (inclusive start:stop:step, step 1 when omitted) or `--range allow_short=false,true`;
`--param NAME=VALUE` holds a parameter fixed. Without any --range the grid comes from the Params bounds.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from engine.cli.backtest import build_request
from engine.cli.options import (
    add_cost_options,
    add_dry_run,
    add_output_options,
    add_range,
    add_sizing_options,
    add_source_options,
    add_window_options,
)
from engine.cli.output import format_metric, metrics_json, print_json, table_text
from engine.cli.parsing import parse_params
from engine.errors import ConfigError
from engine.metrics import METRIC_NAMES, registry
from engine.request import run_request
from engine.research.estimate import Estimate, estimate_optimize, estimate_walkforward
from engine.research.optimize import METHODS, OptimizationResult, OptimizeSpec, run_optimization
from engine.research.walkforward import WalkForwardSpec, run_walkforward, save_walkforward
from engine.store.jsonable import plain
from engine.store.runs import RunStore

SHOWN_METRICS = tuple(m for m in registry.TRIAL_COLUMNS if m != "total_return")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "optimize",
        help="search a strategy's parameters (grid, random or optuna)",
        description="Optimize a strategy's parameters: every trial is a full backtest; the table "
        "is ranked best first. " + __doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    _add_common(p)
    out = p.add_argument_group("output")
    out.add_argument("--top", type=int, default=10, help="rows of the ranked table to print (default 10)")
    add_output_options(out, "save the best set's backtest and the trial table as a run of kind 'optimize'")
    add_dry_run(out)
    p.set_defaults(func=run_optimize)

    w = sub.add_parser(
        "walkforward",
        help="walk-forward: optimize in-sample, trade out-of-sample, repeat",
        description="Walk-forward analysis: optimize on each in-sample window, evaluate the chosen "
        "parameters on the following out-of-sample window, stitch the OOS equity.",
    )
    _add_common(w)
    add_window_options(w.add_argument_group("windows"), required=True)
    wout = w.add_argument_group("output")
    add_output_options(
        wout,
        "save the stitched out-of-sample equity as a run of kind 'walkforward' (chosen parameters per window with it)",
    )
    add_dry_run(wout)
    w.set_defaults(func=run_walkforward_cmd)


def _add_common(p: argparse.ArgumentParser) -> None:
    """The flags of `ivybt backtest` (minus output) plus the search flags."""
    add_source_options(p, param_help="hold a parameter fixed (repeatable)")
    search = p.add_argument_group("search")
    add_range(search, "values to try: start:stop[:step] (inclusive) or v1,v2,... (repeatable)")
    search.add_argument("--method", choices=METHODS, default="grid", help="grid (default), random or optuna")
    search.add_argument("--trials", type=int, default=100, help="trials for random/optuna (default 100)")
    search.add_argument("--seed", type=int, default=0, help="random seed for random/optuna (default 0)")
    search.add_argument(
        "--objective",
        choices=METRIC_NAMES,
        default="sharpe",
        metavar="METRIC",
        help="metric to rank by (default sharpe; see `ivybt backtest --json` for names)",
    )
    search.add_argument("--minimize", action="store_true", help="minimize the objective instead")
    search.add_argument("--min-trades", type=int, default=0, help="trials with fewer trades are infeasible")
    search.add_argument(
        "--constraint",
        action="append",
        metavar="METRIC=LOW:HIGH",
        help="feasible only within bounds, either side may be empty (e.g. max_drawdown=-0.3:)",
    )
    search.add_argument(
        "--workers",
        type=int,
        help="optimize: grid threads (default: IVYBT_GRID_WORKERS, else NUMBA_NUM_THREADS, else one per core); "
        "walkforward: > 1 runs the windows on that many processes",
    )
    add_cost_options(p)
    add_sizing_options(p)


def parse_ranges(items: list[str] | None) -> dict[str, list[Any]]:
    """Every `--range` flag as {name: values}; a name given twice is a ConfigError."""
    ranges: dict[str, list[Any]] = {}
    for item in items or ():
        name, values = parse_range(item)
        if name in ranges:
            raise ConfigError(f"--range {name}: given twice")
        ranges[name] = values
    return ranges


def parse_range(item: str) -> tuple[str, list[Any]]:
    """`"fast=5:50:5"` -> ("fast", [5, 10, ..., 50]); `"x=0.5:1:0.25"` -> floats; `"s=false,true"` -> strings
    (typed later by the strategy's Params). Raises ConfigError naming the flag for a malformed or empty range."""
    name, sep, text = str(item).partition("=")
    name, text = name.strip(), text.strip()
    if not sep or not name or not text:
        raise ConfigError(f"--range {item!r}: expected NAME=START:STOP[:STEP] or NAME=V1,V2,...")
    if ":" not in text:
        words = [v.strip() for v in text.split(",") if v.strip()]
        if not words:
            raise ConfigError(f"--range {item!r}: the range is empty")
        return name, words
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(f"--range {item!r}: expected START:STOP or START:STOP:STEP")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"--range {item!r}: START, STOP and STEP must be numbers") from None
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1.0
    if not all(math.isfinite(x) for x in (start, stop, step)) or step <= 0:
        raise ConfigError(f"--range {item!r}: STEP must be a positive number")
    if stop < start:
        raise ConfigError(f"--range {item!r}: the range is empty (STOP {parts[1]} is below START {parts[0]})")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 100_000:
        raise ConfigError(f"--range {item!r}: {count:,} values; use a larger STEP")
    integral = all(x.lstrip("+-").isdigit() for x in parts)
    values = [int(round(start + i * step)) if integral else round(start + i * step, 10) for i in range(count)]
    return name, values


def parse_constraint(item: str) -> tuple[str, tuple[float | None, float | None]]:
    """`"max_drawdown=-0.3:"` -> ("max_drawdown", (-0.3, None))."""
    name, sep, text = str(item).partition("=")
    lo, colon, hi = text.partition(":")
    if not sep or not colon or not name.strip():
        raise ConfigError(f"--constraint {item!r}: expected METRIC=LOW:HIGH (either side may be empty)")
    try:
        return name.strip(), (float(lo) if lo.strip() else None, float(hi) if hi.strip() else None)
    except ValueError:
        raise ConfigError(f"--constraint {item!r}: LOW and HIGH must be numbers") from None


def build_spec(args: argparse.Namespace) -> OptimizeSpec:
    """The OptimizeSpec the flags describe (base request from `ivybt backtest`'s flags, preset or config)."""
    ranges = parse_ranges(args.range)
    explicit = parse_params(args.param)
    both = sorted(set(explicit) & set(ranges))
    if both:
        raise ConfigError(f"parameter(s) {both} given with both --param and --range; give each once")
    request = build_request(argparse.Namespace(**{**vars(args), "param": None}))
    fixed = {k: v for k, v in request.params.items() if k not in ranges} if ranges else {}
    fixed.update(explicit)
    if args.trials < 1:
        raise ConfigError(f"--trials {args.trials}: must be >= 1")
    check_workers(args.workers)
    return OptimizeSpec(
        strategy=request.strategy,
        symbols=request.symbols,
        start=request.start,
        end=request.end,
        config=request.config,
        ranges=ranges or None,
        fixed=fixed,
        method=args.method,
        n_trials=args.trials,
        seed=args.seed,
        objective=args.objective,
        maximize=not args.minimize,
        min_trades=args.min_trades,
        constraints=dict(parse_constraint(c) for c in args.constraint or ()),
        data_source=request.data_source,
    )


def check_workers(workers: int | None) -> None:
    """--workers must be a positive count when given (ConfigError naming the value otherwise)."""
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: must be >= 1 (or leave it out for one per core)")


def searched_names(result: OptimizationResult) -> list[str]:
    """Parameters that vary in the table (the interesting columns to print)."""
    names = [c for c in result.table.columns if c not in METRIC_NAMES and c not in ("objective", "feasible")]
    varying = [c for c in names if result.table[c].nunique(dropna=False) > 1]
    return varying or names


def optimization_json(result: OptimizationResult, top: int) -> dict[str, Any]:
    """The JSON object `ivybt optimize --json` prints."""
    rows = []
    for trial, row in result.table.head(max(top, 0)).iterrows():
        rows.append({"trial": int(trial), **{k: plain(v) for k, v in row.items()}})
    return {
        "spec": result.spec.to_dict(),
        "n_trials": len(result.table),
        "n_feasible": result.n_feasible,
        "elapsed": result.elapsed,
        "best_params": result.best_params,
        "best_metrics": metrics_json(result.best_metrics),
        "top": rows,
    }


def print_estimate(estimate: Estimate, spec: dict[str, Any], as_json: bool) -> int:
    """`--dry-run`'s output: the estimate as one JSON object or as lines; exit status 0."""
    if as_json:
        print_json({"dry_run": True, "spec": spec, "estimate": estimate.to_dict()})
    else:
        for line in estimate.lines():
            print(line)
        print("dry run: nothing was run")
    return 0


def run_optimize(args: argparse.Namespace) -> int:
    spec = build_spec(args)
    if args.dry_run:
        return print_estimate(estimate_optimize(spec, workers=args.workers), spec.to_dict(), args.json)
    result = run_optimization(spec, workers=args.workers, curves=0)  # prints and saves the table, not curves
    out = optimization_json(result, args.top)
    if args.save:
        out["run_id"] = _save(result, args.name)
    if args.json:
        print_json(out)
        return 0
    names = searched_names(result)
    headers = ["rank", "trial", *names, f"objective ({spec.objective})", *SHOWN_METRICS, "feasible"]
    rows = []
    for rank, (trial, row) in enumerate(result.table.head(max(args.top, 0)).iterrows(), start=1):
        rows.append(
            [
                rank,
                trial,
                *[plain(row[n]) for n in names],
                format_metric(spec.objective, row["objective"]),
                *[format_metric(m, row[m]) for m in SHOWN_METRICS],
                "yes" if row["feasible"] else "no",
            ]
        )
    print(
        f"{spec.strategy} on {', '.join(spec.symbols)}: {spec.method}, {len(result.table)} trials "
        f"({result.n_feasible} feasible) in {result.elapsed:.2f}s; "
        f"{'minimizing' if not spec.maximize else 'maximizing'} {spec.objective}"
    )
    print(table_text(headers, rows, align_right_from=1))
    if result.best_params:
        print(f"best: {result.best_params}")
    else:
        print("no feasible parameter set (relax --min-trades or --constraint)")
    if "run_id" in out:
        print(f"saved run {out['run_id']}")
    return 0


def _save(result: OptimizationResult, name: str | None) -> str:
    """Save the best set's backtest plus the trial table as a run of kind 'optimize'; returns its id."""
    request = result.best_request()
    return RunStore().save_optimization(
        run_request(request), request, result.table, spec=result.spec.to_dict(), name=name
    )


def run_walkforward_cmd(args: argparse.Namespace) -> int:
    spec = WalkForwardSpec(build_spec(args), args.in_sample, args.out_of_sample, args.anchored)
    if args.dry_run:
        return print_estimate(estimate_walkforward(spec), spec.to_dict(), args.json)
    result = run_walkforward(spec, workers=args.workers)
    windows = [{k: plain(v) for k, v in row.items()} for row in result.windows.to_dict("records")]
    out = {
        "spec": spec.to_dict(),
        "windows": windows,
        "efficiency": result.efficiency,
        "objective_efficiency": result.objective_efficiency,
        "oos_metrics": metrics_json(result.oos_metrics),
        "oos_start": result.oos_equity.index[0],
        "oos_end": result.oos_equity.index[-1],
        "oos_final_equity": float(result.oos_equity.iloc[-1]),
        "elapsed": result.elapsed,
    }
    if args.save:
        out["run_id"] = save_walkforward(result, name=args.name)
    if args.json:
        print_json(out)
        return 0
    opt = spec.optimize
    names = [c for c in result.windows.columns if c not in _WINDOW_COLUMNS]
    headers = ["window", "in-sample", "out-of-sample", *names, "IS obj", "OOS obj", "OOS return"]
    rows = [
        [
            int(r["window"]),
            f"{r['is_start']:%Y-%m-%d}..{r['is_end']:%Y-%m-%d}",
            f"{r['oos_start']:%Y-%m-%d}..{r['oos_end']:%Y-%m-%d}",
            *[plain(r[n]) for n in names],
            format_metric(opt.objective, r["is_objective"]),
            format_metric(opt.objective, r["oos_objective"]),
            format_metric("total_return", r["oos_return"]),
        ]
        for _, r in result.windows.iterrows()
    ]
    print(
        f"walk-forward {opt.strategy} on {', '.join(opt.symbols)}: {len(result.windows)} windows, in-sample "
        f"{spec.in_sample}, out-of-sample {spec.out_of_sample}{', anchored' if spec.anchored else ', rolling'}; "
        f"{opt.method} on {opt.objective} ({result.elapsed:.2f}s)"
    )
    print(table_text(headers, rows, align_right_from=3))
    m = result.oos_metrics
    print(
        f"stitched OOS: total return {format_metric('total_return', m['total_return'])}, CAGR "
        f"{format_metric('cagr', m['cagr'])}, Sharpe {format_metric('sharpe', m['sharpe'])}, max drawdown "
        f"{format_metric('max_drawdown', m['max_drawdown'])}"
    )
    print(
        f"walk-forward efficiency (OOS CAGR / mean IS CAGR): {format_metric('x', result.efficiency)}; "
        f"objective efficiency: {format_metric('x', result.objective_efficiency)}"
    )
    if "run_id" in out:
        print(f"saved run {out['run_id']}")
    return 0


_WINDOW_COLUMNS = {
    "window",
    "is_start",
    "is_end",
    "oos_start",
    "oos_end",
    "is_bars",
    "oos_bars",
    "feasible",
    "is_objective",
    "oos_objective",
    "is_cagr",
    "oos_cagr",
    "oos_return",
}

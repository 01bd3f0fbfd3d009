"""`ivybt montecarlo` and `ivybt scorecard`: robustness checks of one backtest from the command line.

Both take the backtest the way `ivybt backtest` does (flags, --preset NAME or --config FILE, the same flag
set, borrowed from engine.cli.backtest so they never drift apart); `montecarlo` can instead resample a saved
run (--run-id). `--json` prints one strict JSON object.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.backtest import build_request
from engine.cli.optimize import check_workers, parse_ranges, print_estimate
from engine.cli.options import add_dry_run, add_output_options, add_range, add_request_options, add_window_options
from engine.cli.output import print_json, table_text
from engine.errors import ConfigError
from engine.metrics.registry import MONTE_CARLO
from engine.request import BacktestRequest, run_request
from engine.research.estimate import estimate_montecarlo
from engine.research.montecarlo import METHODS, MonteCarloSpec, run_montecarlo, save_montecarlo
from engine.research.optimize import OptimizeSpec
from engine.research.scorecard import build_scorecard, neighbourhood_ranges, save_scorecard
from engine.research.walkforward import WalkForwardResult, WalkForwardSpec, run_walkforward
from engine.store.runs import RunStore
from engine.strategies.registry import create_strategy, get_strategy


def register(sub: argparse._SubParsersAction) -> None:
    mc = sub.add_parser(
        "montecarlo",
        help="Monte Carlo of a backtest (trade reshuffle/bootstrap, block bootstrap)",
        description="Resample a backtest (a saved run with --run-id, or backtest flags/--preset) "
        "and print percentiles of final equity, max drawdown and Sharpe.",
    )
    mc.add_argument("--run-id", metavar="ID", help="resample this saved run (see `ivybt runs list`)")
    add_request_options(mc)
    sim = mc.add_argument_group("simulation")
    sim.add_argument(
        "--method",
        choices=METHODS,
        default="block_bootstrap",
        help="reshuffle (trade order: final equity unchanged, drawdowns vary), bootstrap_trades "
        "(trades with replacement), block_bootstrap (blocks of daily returns; the default)",
    )
    sim.add_argument("--sims", type=int, default=1000, help="number of simulated paths (default 1000)")
    sim.add_argument("--block", type=int, default=20, help="block length in bars (default 20)")
    sim.add_argument(
        "--fixed-blocks",
        action="store_true",
        help="fixed-length blocks instead of the stationary bootstrap's random lengths",
    )
    sim.add_argument("--extra-slippage-bps", type=float, default=0.0, help="extra cost per fill, bps")
    sim.add_argument(
        "--haircut",
        type=float,
        default=0.0,
        help="win-rate haircut: probability that a winning trade (bar) becomes the average loss",
    )
    sim.add_argument(
        "--loss-threshold", type=float, default=0.2, help="P(final < (1 - x) * initial) is reported (default 0.2)"
    )
    sim.add_argument("--seed", type=int, default=0, help="random seed (same seed -> same output)")
    mc_out = mc.add_argument_group("output")
    add_output_options(
        mc_out,
        "save a run of kind 'montecarlo': the backtest with the percentiles and every path's statistics; its id "
        "is printed as saved_run_id (run_id names the --run-id source)",
    )
    add_dry_run(mc_out)
    mc.set_defaults(func=run_montecarlo_cmd)

    sc = sub.add_parser(
        "scorecard",
        help="robustness scorecard of one strategy + parameter set",
        description="Deflated Sharpe, PBO, plateau, Monte Carlo, fill and cost sensitivity, "
        "trades and exposure, each with a pass/warn/fail verdict.",
    )
    add_request_options(sc)
    extra = sc.add_argument_group("scorecard")
    extra.add_argument(
        "--n-trials",
        type=int,
        help="trials tried in total before choosing these parameters "
        "(deflated Sharpe; default: the size of the default grid)",
    )
    extra.add_argument("--sims", type=int, default=1000, help="Monte Carlo paths (default 1000)")
    extra.add_argument("--seed", type=int, default=0, help="Monte Carlo seed")
    wf = sc.add_argument_group(
        "walk-forward efficiency (optional)",
        "Give both lengths to add the walk-forward efficiency line: each window re-optimizes "
        "the --range grid (default: -2..+2 steps around the first two numeric parameters) "
        "on its in-sample bars by Sharpe and trades the choice out-of-sample.",
    )
    add_window_options(wf, required=False)
    add_range(wf, "walk-forward search values: start:stop[:step] or v1,v2,... (repeatable)")
    wf.add_argument("--workers", type=int, help="> 1 runs the walk-forward windows on that many processes")
    add_output_options(
        sc.add_argument_group("output"),
        "save a run of kind 'scorecard': the judged backtest with the lines, verdicts and numbers behind them",
    )
    sc.set_defaults(func=run_scorecard_cmd)


def run_montecarlo_cmd(args: argparse.Namespace) -> int:
    spec = MonteCarloSpec(
        method=args.method,
        n_sims=args.sims,
        block_length=args.block,
        extra_slippage_bps=args.extra_slippage_bps,
        win_rate_haircut=args.haircut,
        loss_threshold=args.loss_threshold,
        seed=args.seed,
        stationary=not args.fixed_blocks,
    )
    if args.run_id:
        if args.strategy or args.preset or args.config:
            raise ConfigError("montecarlo: give --run-id OR a backtest (--strategy/--preset/--config), not both")
        stored = RunStore().load(args.run_id)
        result, request, source = stored.result, stored.request, {"run_id": stored.id}
    else:
        request = build_request(args)
        result, source = run_request(request), {}
    if args.dry_run:  # the backtest above is the calibration's input; the paths are not run
        return print_estimate(estimate_montecarlo(result, spec), spec.to_dict(), args.json)
    mc = run_montecarlo(result, spec)
    saved = {}
    if args.save:
        saved["saved_run_id"] = save_montecarlo(mc, result, request, name=args.name)
    if args.json:
        print_json(
            {
                **source,
                **saved,
                "request": request.to_dict(),
                "spec": spec.to_dict(),
                "percentiles": {row: dict(mc.percentiles.loc[row]) for row in mc.percentiles.index},
                "prob_loss_beyond": mc.prob_loss_beyond,
                "summary": mc.summary,
            }
        )
        return 0
    s = mc.summary
    print(
        f"Monte Carlo: {spec.method}, {spec.n_sims} paths x {s['steps']} {s['step_unit']}s, seed {spec.seed} "
        f"({request.strategy} on {', '.join(request.symbols)})"
    )
    if spec.method == "reshuffle":
        print("note: reshuffling the trade order leaves the final equity unchanged; only drawdowns vary")
    rows = [
        [row, f"{r['final_equity']:,.2f}", f"{r['max_drawdown'] * 100:,.2f}%", f"{r['sharpe']:,.4f}"]
        for row, r in mc.percentiles.iterrows()
    ]
    rows.append(
        [
            "backtest",
            f"{s['original_final_equity']:,.2f}",
            f"{s['original_max_drawdown'] * 100:,.2f}%",
            f"{s['original_sharpe']:,.4f}",
        ]
    )
    print(table_text(["", *MONTE_CARLO], rows, align_right_from=1))
    print(f"P(final equity < {1 - spec.loss_threshold:.2f} x initial) = {mc.prob_loss_beyond:.2%}")
    if saved:
        print(f"saved run {saved['saved_run_id']}")
    return 0


def run_scorecard_cmd(args: argparse.Namespace) -> int:
    request = build_request(args)
    walkforward = _walkforward(args, request)
    card = build_scorecard(
        request,
        n_trials=args.n_trials,
        walkforward=walkforward,
        montecarlo=MonteCarloSpec(n_sims=args.sims, seed=args.seed),
    )
    out: dict[str, Any] = card.to_dict()
    out["info"] = {k: v for k, v in out["info"].items() if k != "metrics"}
    out["metrics"] = card.info.get("metrics", {})
    if walkforward is not None:
        out["walkforward"] = {
            "spec": walkforward.spec.to_dict(),
            "efficiency": walkforward.efficiency,
            "windows": len(walkforward.windows),
            "chosen": walkforward.chosen,
        }
    if args.save:
        out["run_id"] = save_scorecard(card, name=args.name)
    if args.json:
        print_json(out)
        return 0
    print(f"Scorecard: {request.strategy} {card.info.get('params', request.params)} on {', '.join(request.symbols)}")
    rows = [[line.name, _value(line.value), line.verdict.upper(), line.detail] for line in card.lines]
    print(table_text(["check", "value", "verdict", "detail"], rows))
    counts = card.counts()
    print(f"overall: {card.overall} ({counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail)")
    if "run_id" in out:
        print(f"saved run {out['run_id']}")
    return 0


def walkforward_spec(args: argparse.Namespace, request: BacktestRequest) -> WalkForwardSpec | None:
    """The WalkForwardSpec of `ivybt scorecard --in-sample/--out-of-sample`, or None without them."""
    lengths = (args.in_sample, args.out_of_sample)
    if not any(lengths):
        if args.anchored or args.range or args.workers is not None:
            raise ConfigError("scorecard: --anchored, --range and --workers need --in-sample and --out-of-sample")
        return None
    if not all(lengths):
        missing = "--out-of-sample" if args.in_sample else "--in-sample"
        raise ConfigError(f"scorecard: the walk-forward line needs both lengths; {missing} is missing")
    check_workers(args.workers)
    ranges = parse_ranges(args.range)
    if not ranges:
        params = dict(create_strategy(request.strategy, request.params).params.__dict__)
        ranges = neighbourhood_ranges(get_strategy(request.strategy), params)
    fixed = {k: v for k, v in request.params.items() if k not in ranges}
    opt = OptimizeSpec(
        strategy=request.strategy,
        symbols=request.symbols,
        start=request.start,
        end=request.end,
        config=request.config,
        ranges=ranges,
        fixed=fixed,
        objective="sharpe",
        data_source=request.data_source,
    )
    return WalkForwardSpec(opt, args.in_sample, args.out_of_sample, args.anchored)


def _walkforward(args: argparse.Namespace, request: BacktestRequest) -> WalkForwardResult | None:
    spec = walkforward_spec(args, request)
    if spec is None:
        return None
    return run_walkforward(spec, workers=args.workers)


def _value(v: float) -> str:
    if v != v:  # NaN
        return "-"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return f"{v:,.4g}"

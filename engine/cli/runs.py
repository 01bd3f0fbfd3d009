"""`ivybt runs list|show|delete|rename|tag|note|compare`: the saved runs of the workspace's run store, the name,
tags and notes a person gives them, and a comparison (metrics with registry labels, differences to the first
run, the request fields that differ)."""

from __future__ import annotations

import argparse
import sys

from engine.cli.options import add_json
from engine.cli.output import format_metric, metrics_json, metrics_text, print_json, safe, table_text
from engine.cli.parsing import int_in
from engine.errors import EngineError
from engine.metrics import registry
from engine.research.compare import common_period, config_diff, metric_differences, metrics_side_by_side
from engine.store.runs import RunStore

MAX_LIMIT = 1_000_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list, show, label, compare or delete saved runs")
    rsub = p.add_subparsers(dest="runs_cmd", required=True, metavar="{list,show,delete,rename,tag,note,compare}")
    q = rsub.add_parser("list", help="saved runs, newest first")
    q.add_argument("--strategy")
    q.add_argument("--symbol")
    q.add_argument("--kind", help="backtest, optimize or walkforward")
    q.add_argument("--tag", help="only runs with this tag")
    q.add_argument(
        "--limit", type=int_in(1, MAX_LIMIT), default=50, help=f"at most this many rows, 1..{MAX_LIMIT} (default 50)"
    )
    add_json(q)
    q.set_defaults(func=runs_list)
    q = rsub.add_parser("show", help="one run: request, metrics, reproducibility key, trades")
    q.add_argument("id", help="run id (or a unique prefix of at least 4 characters)")
    q.add_argument(
        "--trades", type=int_in(0, MAX_LIMIT), default=10, help=f"how many trades to print, 0..{MAX_LIMIT} (default 10)"
    )
    add_json(q)
    q.set_defaults(func=runs_show)
    q = rsub.add_parser("delete", help="delete one run")
    q.add_argument("id")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(func=runs_delete)
    q = rsub.add_parser("rename", help="set a run's name (an empty NAME clears it)")
    q.add_argument("id")
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=runs_rename)
    q = rsub.add_parser("tag", help="add tags to a run (or remove them with --remove)")
    q.add_argument("id")
    q.add_argument("tags", nargs="+", metavar="TAG")
    q.add_argument("--remove", action="store_true", help="remove these tags instead")
    q.set_defaults(func=runs_tag)
    q = rsub.add_parser("note", help="set a run's notes (an empty TEXT clears them)")
    q.add_argument("id")
    q.add_argument("text", metavar="TEXT")
    q.set_defaults(func=runs_note)
    q = rsub.add_parser("compare", help="metrics side by side and the configuration differences of 2+ runs")
    q.add_argument("ids", nargs="+", metavar="ID", help="two or more run ids (or unique prefixes)")
    add_json(q)
    q.set_defaults(func=runs_compare)


def runs_list(args: argparse.Namespace) -> int:
    df = RunStore().list(strategy=args.strategy, symbol=args.symbol, kind=args.kind, limit=args.limit, tag=args.tag)
    if args.json:
        print_json({"runs": df.to_dict(orient="records")})
        return 0
    if df.empty:
        print("no saved runs (save one with `ivybt backtest ... --save`)")
        return 0
    rows = [
        [
            r.id,
            safe(r.name) if isinstance(r.name, str) else "",
            r.tags,
            r.created_at[:19].replace("T", " "),
            r.strategy,
            r.symbols,
            (r.start or "")[:10],
            (r.end or "")[:10],
            format_metric("total_return", r.total_return),
            format_metric("sharpe", r.sharpe),
            format_metric("max_drawdown", r.max_drawdown),
            format_metric("n_trades", r.n_trades),
        ]
        for r in df.itertuples()
    ]
    print(
        table_text(
            [
                "id",
                "name",
                "tags",
                "created (UTC)",
                "strategy",
                "symbols",
                "start",
                "end",
                "return",
                "sharpe",
                "max DD",
                "trades",
            ],
            rows,
        )
    )
    return 0


def runs_show(args: argparse.Namespace) -> int:
    run = RunStore().load(args.id)
    res = run.result
    if args.json:
        print_json(
            {
                "id": run.id,
                "created_at": run.created_at,
                "kind": run.kind,
                "name": run.name,
                "tags": list(run.tags),
                "notes": run.notes,
                "request": run.request.to_dict(),
                "metrics": metrics_json(res.metrics),
                "benchmark_metrics": metrics_json(res.benchmark_metrics),
                "key": run.key,
                "request_hash": run.request_hash,
                "data_hash": run.data_hash,
                "version": run.version,
                "start": res.equity.index[0] if len(res.equity) else None,
                "end": res.equity.index[-1] if len(res.equity) else None,
                "trades": res.trades.head(args.trades).to_dict(orient="records"),
                "warnings": list(res.warnings),
            }
        )
        return 0
    req = run.request
    print(f"run {run.id} ({run.kind}{', ' + safe(run.name) if run.name else ''}), saved {run.created_at}")
    print(
        safe(
            f"  strategy {req.strategy} {req.params} on {', '.join(req.symbols)}, {req.start or 'first bar'} .. "
            f"{req.end or 'last bar'}; data {req.data_source or 'default source'}"
        )
    )
    if run.tags:
        print(f"  tags {safe(', '.join(run.tags))}")
    if run.notes:
        print(safe(f"  notes {run.notes}"))
    print(f"  key {run.key}\n  request {run.request_hash}\n  data    {run.data_hash}\n  version {run.version}")
    for warning in res.warnings:
        print(f"  warning: {safe(warning)}")
    columns = {"strategy": res.metrics}
    if res.benchmark_metrics:
        columns["benchmark"] = res.benchmark_metrics
    print(metrics_text(columns))
    if args.trades and len(res.trades):
        print(f"first {min(args.trades, len(res.trades))} of {len(res.trades)} trades:")
        print(res.trades.head(args.trades).to_string(index=False))
    return 0


def runs_delete(args: argparse.Namespace) -> int:
    store = RunStore()
    run = store.load(args.id)  # unknown id -> RunNotFound before asking
    if not args.yes:
        prompt = safe(f"delete run {run.id} ({run.request.strategy} on {', '.join(run.request.symbols)})? [y/N] ")
        try:
            answer = input(prompt) if sys.stdin and sys.stdin.isatty() else ""
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print(f"ivybt: error: run {run.id} not deleted (confirm, or pass --yes)", file=sys.stderr)
            return 1
    store.delete(run.id)
    print(f"deleted run {run.id}")
    return 0


def runs_rename(args: argparse.Namespace) -> int:
    store = RunStore()
    full = store.rename(args.id, args.name)
    name = store.load(full).name
    print(safe(f"run {full} is now named {name!r}" if name else f"run {full} has no name now"))
    return 0


def runs_tag(args: argparse.Namespace) -> int:
    store = RunStore()
    full = store.tag(args.id, args.tags, remove=args.remove)
    tags = store.load(full).tags
    print(safe(f"run {full} tags: {', '.join(tags) if tags else '(none)'}"))
    return 0


def runs_note(args: argparse.Namespace) -> int:
    store = RunStore()
    full = store.set_notes(args.id, args.text)
    print(f"run {full} notes {'set' if args.text else 'cleared'}")
    return 0


def runs_compare(args: argparse.Namespace) -> int:
    if len(args.ids) < 2:
        print("ivybt: error: runs compare needs at least two run ids", file=sys.stderr)
        return 2
    store = RunStore()
    runs = [store.load(i) for i in args.ids]
    table = metrics_side_by_side(runs)
    diffs = metric_differences(table)
    fields = config_diff(runs)
    try:
        period: list | None = list(common_period({r.id: r.result.equity for r in runs}))
    except EngineError:
        period = None
    if args.json:
        print_json(
            {
                "runs": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "tags": list(r.tags),
                        "strategy": r.result.strategy,
                        "start": r.result.equity.index[0],
                        "end": r.result.equity.index[-1],
                    }
                    for r in runs
                ],
                "common_period": period,
                "metrics": {
                    r.id: metrics_json({k: table.at[k, c] for k in table.index}) for r, c in zip(runs, table.columns)
                },
                "differences": {k: list(diffs.loc[k]) for k in diffs.index},
                "config_diff": {k: list(fields.loc[k]) for k in fields.index},
            }
        )
        return 0
    for r in runs:
        span = f"{r.result.equity.index[0]:%Y-%m-%d}..{r.result.equity.index[-1]:%Y-%m-%d}"
        print(safe(f"{r.id}  {r.name or '(no name)'}  {r.result.strategy} on {', '.join(r.request.symbols)}, {span}"))
    if period is None:
        print("the runs share no period: each metric is over its run's own dates")
    else:
        print(f"common period {period[0]:%Y-%m-%d}..{period[1]:%Y-%m-%d}; each metric is over its run's own dates")
    headers = ["metric", *table.columns, *diffs.columns]
    rows = [
        [registry.label(k), *[format_metric(k, table.at[k, c]) for c in table.columns], *diffs.loc[k]]
        for k in table.index
    ]
    print(table_text(headers, rows, align_right_from=1))
    if fields.empty:
        print("configuration: the same")
    else:
        print("configuration differences:")
        print(table_text(["field", *fields.columns], [[k, *map(safe, fields.loc[k])] for k in fields.index]))
    return 0

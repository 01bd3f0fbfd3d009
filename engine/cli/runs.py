"""`ivybt runs list|show|delete`: the saved runs of the workspace's run store."""

from __future__ import annotations

import argparse
import sys

from engine.cli.options import add_json
from engine.cli.output import format_metric, metrics_json, metrics_text, print_json, safe, table_text
from engine.cli.parsing import int_in
from engine.store.runs import RunStore

MAX_LIMIT = 1_000_000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list, show or delete saved runs")
    rsub = p.add_subparsers(dest="runs_cmd", required=True, metavar="{list,show,delete}")
    q = rsub.add_parser("list", help="saved runs, newest first")
    q.add_argument("--strategy")
    q.add_argument("--symbol")
    q.add_argument("--kind", help="backtest, optimize or walkforward")
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


def runs_list(args: argparse.Namespace) -> int:
    df = RunStore().list(strategy=args.strategy, symbol=args.symbol, kind=args.kind, limit=args.limit)
    if args.json:
        print_json({"runs": df.to_dict(orient="records")})
        return 0
    if df.empty:
        print("no saved runs (save one with `ivybt backtest ... --save`)")
        return 0
    rows = [
        [
            r.id,
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
            ["id", "created (UTC)", "strategy", "symbols", "start", "end", "return", "sharpe", "max DD", "trades"], rows
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

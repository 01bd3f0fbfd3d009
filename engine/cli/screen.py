"""`ivybt screen` (rank a universe, engine.research.screen), `ivybt screen schedule ...` (scheduled screens that
alert when symbols enter or leave) and `ivybt watchlist list|show|save|delete` (engine.store.watchlists).

    ivybt screen --universe SPY,QQQ,TLT --rank momentum_126 --filter "rsi_14<70" --top 5 [--asof DATE]
    ivybt screen --watchlist tech --rank sharpe_252 --column vol_21 --csv out.csv
    ivybt screen schedule add --name dips --watchlist tech --rank rsi_14 --filter "rsi_14<30" --every 30
    ivybt screen schedule list|remove ID|run-due [--now ISO]
    ivybt watchlist save tech AAPL MSFT NVDA

Bad input (an unknown column, a filter that does not parse, a missing watchlist) exits 2 with one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.batch.jobs import execute_claimed
from engine.batch.queue import JobQueue, keyed_id, new_worker_id
from engine.batch.screen_job import enqueue_due
from engine.batch.screen_schedules import ScreenScheduleStore
from engine.cli.options import add_json, add_now
from engine.cli.output import frame_text, print_json, table_text
from engine.cli.parsing import UsageError, instant
from engine.research.screen import ScreenSpec, result_records, run_screen
from engine.store.watchlists import PREFIX, WatchlistStore


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screen", help="rank a universe by a metric or indicator, with filters; scheduled screens")
    _spec_options(p, required=False)
    p.add_argument("--asof", metavar="DATE", help="use bars up to this date only (default: the newest)")
    p.add_argument("--csv", metavar="FILE", help="also write the ranked table to this CSV file")
    add_json(p)
    p.set_defaults(func=screen_run)
    ssub = p.add_subparsers(dest="screen_cmd", metavar="{schedule}")
    sched = ssub.add_parser("schedule", help="screens run on the worker every N minutes or at a time of day")
    tsub = sched.add_subparsers(dest="schedule_cmd", required=True, metavar="{add,list,remove,run-due}")
    q = tsub.add_parser("add", help="schedule a screen; an alert says which symbols entered or left it")
    q.add_argument("--name", required=True, help="a name for the alerts")
    _spec_options(q, required=True)
    when = q.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", type=int, metavar="MINUTES", help="run every N minutes")
    when.add_argument("--at", metavar="HH:MM", help="run daily at this time of day (in --tz)")
    q.add_argument("--tz", default="UTC", help="IANA time zone of --at (default UTC)")
    add_json(q)
    q.set_defaults(func=schedule_add)
    q = tsub.add_parser("list", help="every scheduled screen with its latest result")
    add_json(q)
    q.set_defaults(func=schedule_list)
    q = tsub.add_parser("remove", help="delete a scheduled screen")
    q.add_argument("id", type=int)
    q.set_defaults(func=schedule_remove)
    q = tsub.add_parser("run-due", help="queue and run the scheduled screens due now (or at --now) here")
    add_now(q)
    add_json(q)
    q.set_defaults(func=schedule_run_due)

    w = sub.add_parser("watchlist", help="saved watchlists: a universe for screens, backtests, batches, presets")
    wsub = w.add_subparsers(dest="watchlist_cmd", required=True, metavar="{list,show,save,delete}")
    q = wsub.add_parser("list", help="every watchlist")
    add_json(q)
    q.set_defaults(func=watchlist_list)
    q = wsub.add_parser("show", help="one watchlist's symbols")
    q.add_argument("name")
    add_json(q)
    q.set_defaults(func=watchlist_show)
    q = wsub.add_parser("save", help="create or replace a watchlist")
    q.add_argument("name")
    q.add_argument("symbols", nargs="+", metavar="SYM", help="symbols (space or comma separated)")
    q.set_defaults(func=watchlist_save)
    q = wsub.add_parser("delete", help="delete a watchlist")
    q.add_argument("name")
    q.set_defaults(func=watchlist_delete)


def _spec_options(p: argparse.ArgumentParser, required: bool) -> None:
    g = p.add_argument_group("what to screen")
    g.add_argument("--universe", nargs="+", metavar="SYM", help="symbols (space or comma separated)")
    g.add_argument("--watchlist", metavar="NAME", help="a saved watchlist as the universe")
    g.add_argument("--rank", required=required, metavar="KEY", help="column to rank by (e.g. momentum_126, rsi_14)")
    g.add_argument("--filter", action="append", default=[], metavar="EXPR", help="e.g. 'rsi_14<30' (repeatable)")
    g.add_argument("--column", action="append", default=[], metavar="KEY", help="extra column (repeatable)")
    g.add_argument("--top", type=int, metavar="N", help="keep the best N")
    order = g.add_mutually_exclusive_group()
    order.add_argument("--ascending", action="store_true", default=None, help="lowest first")
    order.add_argument("--descending", dest="ascending", action="store_false", help="highest first")
    g.add_argument("--lookback", type=int, default=252, metavar="BARS", help="bars of a metric column (252)")
    g.add_argument("--benchmark", default="equal_weight", help="symbol or equal_weight (of the universe)")
    g.add_argument("--data-dir", metavar="FOLDER", help="read market data from this folder")


def spec_from_args(args: argparse.Namespace) -> ScreenSpec:
    """The ScreenSpec of the flags; UsageError when neither or both of --universe and --watchlist are given."""
    if bool(args.universe) == bool(args.watchlist):
        raise UsageError("give exactly one of --universe SYMBOLS and --watchlist NAME")
    if args.rank is None:
        raise UsageError("--rank KEY is required (e.g. --rank momentum_126)")
    symbols = [f"{PREFIX} {args.watchlist}"] if args.watchlist else _split(args.universe)
    return ScreenSpec(
        symbols=symbols,
        rank=args.rank,
        filters=tuple(args.filter),
        columns=tuple(args.column),
        top=args.top,
        asof=getattr(args, "asof", None),
        ascending=args.ascending,
        lookback=args.lookback,
        benchmark=args.benchmark,
        data_source=args.data_dir,
    )


def _split(values: list[str]) -> list[str]:
    return [s.strip().upper() for v in values for s in v.split(",") if s.strip()]


def screen_run(args: argparse.Namespace) -> int:
    result = run_screen(spec_from_args(args))
    if args.csv:
        result.table.to_csv(Path(args.csv), index_label="symbol")
    if args.json:
        print_json(
            {"asof": result.asof.date().isoformat(), "spec": result.spec.to_dict(), "rows": result_records(result)}
        )
    else:
        print(f"screen on bars to {result.asof.date()}: {len(result.table)} of {len(result.all_rows)} symbol(s)")
        if len(result.table):
            print(frame_text(result.table))
    return 0


def schedule_add(args: argparse.Namespace) -> int:
    s = ScreenScheduleStore().add(args.name, spec_from_args(args), every_minutes=args.every, at=args.at, tz=args.tz)
    if args.json:
        print_json(s.to_dict())
    else:
        print(f"added scheduled screen {s.id}: {s.name}, {s.when()}")
    return 0


def schedule_list(args: argparse.Namespace) -> int:
    rows = ScreenScheduleStore().list()
    if args.json:
        print_json({"screens": [s.to_dict() for s in rows]})
        return 0
    if not rows:
        print("no scheduled screens (add one with `ivybt screen schedule add ...`)")
        return 0
    body = [
        [s.id, s.name, s.spec.rank, s.when(), "yes" if s.enabled else "no", s.last_status or "", s.last_message or ""]
        for s in rows
    ]
    print(table_text(["id", "name", "rank", "when", "enabled", "last status", "last result"], body))
    return 0


def schedule_remove(args: argparse.Namespace) -> int:
    ScreenScheduleStore().remove(args.id)
    print(f"removed scheduled screen {args.id}")
    return 0


def schedule_run_due(args: argparse.Namespace) -> int:
    now = instant(args.now)
    queue = JobQueue()
    queued = enqueue_due(queue, now)
    worker, ran = new_worker_id("screen-run-due"), []
    store = ScreenScheduleStore(queue.path)
    for s in store.list():
        if s.last_key is None:
            continue
        claimed = queue.claim(worker, job_id=keyed_id(s.last_key))
        if claimed is None:
            continue
        status = execute_claimed(queue, claimed, worker)
        after = store.find(s.id)
        ran.append({"screen": s.id, "name": s.name, "job_status": status, "status": after.last_status if after else ""})
    if args.json:
        print_json({"now": now.isoformat(), "queued": queued, "runs": ran})
    elif not ran:
        print(f"nothing due at {now.isoformat()}")
    else:
        for r in ran:
            print(f"screen {r['screen']} ({r['name']}): {r['status']}")
    return 1 if any(r["job_status"] != "done" for r in ran) else 0


def watchlist_list(args: argparse.Namespace) -> int:
    rows = WatchlistStore().list()
    if args.json:
        print_json({"watchlists": [w.to_dict() for w in rows]})
    elif not rows:
        print("no watchlists (save one with `ivybt watchlist save NAME SYM ...`)")
    else:
        print(table_text(["name", "symbols", "count"], [[w.name, ", ".join(w.symbols), len(w.symbols)] for w in rows]))
    return 0


def watchlist_show(args: argparse.Namespace) -> int:
    w = WatchlistStore().get(args.name)
    if args.json:
        print_json(w.to_dict())
    else:
        print(" ".join(w.symbols))
    return 0


def watchlist_save(args: argparse.Namespace) -> int:
    w = WatchlistStore().save(args.name, _split(args.symbols))
    print(f"saved watchlist {w.name}: {', '.join(w.symbols)}")
    return 0


def watchlist_delete(args: argparse.Namespace) -> int:
    WatchlistStore().delete(args.name)
    print(f"deleted watchlist {args.name}")
    return 0

"""`ivybt journal add|list|export|stats`: the trade journal (engine.journal).

    ivybt journal add (--run ID --trade N | --fill CLIENT_ORDER_ID [--broker NAME]) [--note TEXT] [--tag T ...]
                      [--setup S] [--state 1..5] [--screenshot FILE ...]
    ivybt journal list [--tag T] [--setup S] [--run ID] [--kind backtest|live] [--json]
    ivybt journal export --format csv|md [--out FILE]
    ivybt journal stats [--by tag|setup|state] [--json]

`add` on a trade that already has an entry edits it (notes, tags, setup and state replaced; screenshots added).
A refused screenshot (not an image, or over the size limit), an unknown run, trade or fill exits 2 with one line
and writes nothing.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from engine.cli.options import add_json
from engine.cli.output import print_json, table_text
from engine.cli.parsing import UsageError, int_in
from engine.journal.export import FORMATS, export_text
from engine.journal.frames import journal_frame
from engine.journal.model import KINDS, STATES, Entry, state_label
from engine.journal.screenshots import MAX_SCREENSHOT_BYTES, read_screenshot
from engine.journal.stats import GROUPINGS, pnl_by
from engine.journal.store import JournalStore
from engine.journal.trades import backtest_trade, entry_pnl, live_fill

SCALE = ", ".join(f"{k} {v}" for k, v in STATES.items())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("journal", help="the trade journal: notes, tags, setup, state and screenshots per trade")
    jsub = p.add_subparsers(dest="journal_cmd", required=True, metavar="{add,list,export,stats}")
    q = jsub.add_parser("add", help="journal a backtest trade or a live fill (edits its entry if it has one)")
    q.add_argument("--run", metavar="ID", help="saved run id (or a unique prefix); with --trade")
    q.add_argument("--trade", type=int_in(0, 10**9), metavar="N", help="trade number in the run's trade list (from 0)")
    q.add_argument("--fill", metavar="ID", help="a live fill: the order's client_order_id (see the Daily Ops page)")
    q.add_argument("--broker", metavar="NAME", help="the fill's broker (default: whichever has that id)")
    q.add_argument("--note", default="", help="notes (why, what you saw, what you would do again)")
    q.add_argument("--tag", action="append", default=[], help="a tag (repeatable, or comma separated)")
    q.add_argument("--setup", default="", help="the setup's name (new names join the list)")
    q.add_argument("--state", type=int_in(1, 5), help=f"emotional state: {SCALE}")
    q.add_argument(
        "--screenshot",
        action="append",
        default=[],
        metavar="FILE",
        help=f"an image (PNG, JPEG, GIF or WebP, at most {MAX_SCREENSHOT_BYTES // 2**20} MB; repeatable)",
    )
    add_json(q)
    q.set_defaults(func=journal_add)
    q = jsub.add_parser("list", help="journal entries with their trades' P&L")
    q.add_argument("--tag", help="only entries with this tag")
    q.add_argument("--setup", help="only entries of this setup")
    q.add_argument("--run", metavar="ID", help="only entries on this run's trades (full id)")
    q.add_argument("--kind", choices=KINDS, help="only backtest trades or live fills")
    add_json(q)
    q.set_defaults(func=journal_list)
    q = jsub.add_parser("export", help="the whole journal as CSV or Markdown")
    q.add_argument("--format", choices=FORMATS, required=True, help="csv or md (Markdown)")
    q.add_argument("--out", metavar="FILE", help="write to FILE (default: print)")
    q.set_defaults(func=journal_export)
    q = jsub.add_parser("stats", help="P&L by tag, setup or emotional state: which reasons make money")
    q.add_argument("--by", choices=GROUPINGS, default="tag", help="group by (default tag)")
    add_json(q)
    q.set_defaults(func=journal_stats)


def journal_add(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.fill is None):
        raise UsageError("journal add: give either --run ID --trade N (a backtest trade) or --fill ID (a live fill)")
    if args.run is not None and args.trade is None:
        raise UsageError("journal add: --run needs --trade N (the trade's number in the run, from 0)")
    if args.fill is None and args.broker:
        raise UsageError("journal add: --broker goes with --fill")
    shots = [read_screenshot(f) for f in args.screenshot]  # size refused before reading a huge file
    if args.run is not None:
        target, trade = backtest_trade(args.run, args.trade)
        symbol, when = str(trade["symbol"]), trade["entry_time"]
    else:
        target, trade = live_fill(args.fill, args.broker)
        symbol, when = str(trade["symbol"]), trade["time"]
    entry = JournalStore().save(
        target,
        symbol=symbol,
        trade_time=when.isoformat() if hasattr(when, "isoformat") else str(when),
        notes=args.note,
        tags=args.tag,
        setup=args.setup,
        state=args.state,
        screenshots=shots,
    )
    if args.json:
        print_json(entry.to_dict())
    else:
        extra = f", {len(entry.screenshots)} screenshot(s)" if entry.screenshots else ""
        print(f"journal entry {entry.id}: {entry.symbol} {entry.target.describe()}{extra}")
    return 0


def _with_pnl(entries: list[Entry]) -> list[dict[str, Any]]:
    pnl = entry_pnl(entries)
    return [{**e.to_dict(), "pnl": None if math.isnan(p) else p} for e, p in zip(entries, pnl, strict=True)]


def journal_list(args: argparse.Namespace) -> int:
    entries = JournalStore().entries(kind=args.kind, run_id=args.run, tag=args.tag, setup=args.setup)
    rows = _with_pnl(entries)
    if args.json:
        print_json({"entries": rows})
        return 0
    if not rows:
        print("no journal entries (add one with `ivybt journal add --run ID --trade N --note ...`)")
        return 0
    cols = ["id", "trade", "symbol", "pnl", "setup", "state", "tags", "notes"]
    body = [
        [
            r["id"],
            e.target.describe(),
            r["symbol"],
            "open" if r["pnl"] is None else f"{r['pnl']:,.2f}",
            r["setup"],
            state_label(r["state"]),
            ", ".join(r["tags"]),
            (r["notes"][:40] + "...") if len(r["notes"]) > 40 else r["notes"],
        ]
        for r, e in zip(rows, entries, strict=True)
    ]
    print(table_text(cols, body))
    return 0


def journal_export(args: argparse.Namespace) -> int:
    entries = JournalStore().entries()
    text = export_text(args.format, entries, entry_pnl(entries))
    if args.out:
        Path(args.out).expanduser().write_text(text, encoding="utf-8")
        print(f"wrote {len(entries)} journal entr{'y' if len(entries) == 1 else 'ies'} to {args.out}")
    else:
        print(text, end="")
    return 0


def journal_stats(args: argparse.Namespace) -> int:
    entries = JournalStore().entries()
    stats = pnl_by(journal_frame(entries, entry_pnl(entries)), args.by)
    if args.json:
        records = stats.reset_index().to_dict("records")
        rows = [{k: _plain(v) for k, v in r.items()} for r in records]
        print_json({"by": args.by, "groups": rows})
        return 0
    if stats.empty:
        print("no journal entries yet")
        return 0
    body = [
        [g, int(r["entries"]), int(r["closed"]), _num(r["total_pnl"]), _num(r["mean_pnl"]), _pct(r["win_rate"])]
        for g, r in stats.iterrows()
    ]
    print(table_text([args.by, "entries", "closed", "total P&L", "mean P&L", "win rate"], body, align_right_from=1))
    return 0


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.2f}"


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"

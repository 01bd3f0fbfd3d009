"""`ivybt data list|show|import|update|freshness`: what market data is available, importing user files, and
downloading fresh daily bars (Stooq by default, keyless; Alpaca / IBKR when the broker plugin registers them)."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from engine.cli.options import add_data_dir, add_json
from engine.cli.output import frame_text, print_json, safe, table_text
from engine.cli.parsing import split_symbols
from engine.data import get_source, import_files, symbol_info
from engine.data.cache import load_cached
from engine.data.info import GAP_DAYS
from engine.data.update import SymbolUpdate, update_symbols
from engine.data.update_sources import DEFAULT_UPDATE_SOURCE
from engine.errors import ConfigError
from engine.ops.freshness import expected_session, freshness_table
from engine.store.jsonable import plain


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list, inspect or import market data")
    dsub = p.add_subparsers(dest="data_cmd", required=True, metavar="{list,show,import,update,freshness}")
    q = dsub.add_parser("list", help="symbols with source, first/last bar, bars and gaps")
    add_data_dir(q)
    add_json(q)
    q.set_defaults(func=data_list)
    q = dsub.add_parser("show", help="one symbol: range, bars, gaps and the last rows")
    q.add_argument("symbol")
    add_data_dir(q)
    q.add_argument("--rows", type=int, default=5, help="how many of the last rows to print (default 5)")
    add_json(q)
    q.set_defaults(func=data_show)
    q = dsub.add_parser("import", help="validate CSV/Parquet files (or folders of them) into the workspace")
    q.add_argument("paths", nargs="+", metavar="PATH")
    add_json(q)
    q.set_defaults(func=data_import)
    q = dsub.add_parser(
        "update",
        help="download daily bars and merge them into the workspace (default: every symbol, from Stooq)",
        description=(
            "Download daily bars for SYMBOLS (space or comma separated; none = every symbol of the default data) "
            "and merge them into the workspace after validation. Stooq (keyless, IVYBT_STOOQ_URL, "
            "IVYBT_STOOQ_TIMEOUT) is the default; --source alpaca|ibkr uses a configured broker. When the "
            "overlapping bars disagree beyond IVYBT_DATA_ADJUST_TOLERANCE (an adjustment changed), the whole "
            "series is replaced from the source. Exit 0 all updated, 1 some symbol failed (the others are kept), "
            "2 bad input."
        ),
    )
    q.add_argument("symbols", nargs="*", metavar="SYMBOL")
    q.add_argument(
        "--source", default=DEFAULT_UPDATE_SOURCE, help=f"where to download (default {DEFAULT_UPDATE_SOURCE})"
    )
    add_json(q)
    q.set_defaults(func=data_update)
    q = dsub.add_parser("freshness", help="each symbol's last bar and its age in NYSE trading days")
    add_data_dir(q)
    add_json(q)
    q.set_defaults(func=data_freshness)


def data_list(args: argparse.Namespace) -> int:
    info = symbol_info(args.data_dir)
    if args.json:
        print_json({"symbols": info.to_dict(orient="records")})
        return 0
    rows = [
        [r.symbol, r.source, _day(r.first), _day(r.last), f"{r.bars:,}", f"{r.largest_gap_days:g}", r.gaps]
        for r in info.itertuples()
    ]
    print(table_text(["symbol", "source", "first", "last", "bars", "largest gap (days)", "gaps > 5d"], rows))
    return 0


def data_show(args: argparse.Namespace) -> int:
    if args.rows < 0:
        raise ConfigError(f"--rows {args.rows}: must be >= 0")
    source = get_source(args.data_dir)
    symbol = args.symbol.strip().upper()
    frame = load_cached(source, symbol)  # unknown symbol -> DataError with close matches
    index = frame.index
    steps = index.to_series().diff().dropna()
    big = steps[steps > _days(GAP_DAYS)].sort_values(ascending=False)
    gaps = [{"after": index[index.get_loc(t) - 1], "before": t, "days": d / _days(1)} for t, d in big.items()]
    owner = source.source_of(symbol) if hasattr(source, "source_of") else source
    facts = {
        "symbol": symbol,
        "source": getattr(owner, "name", str(owner)),
        "first": index[0],
        "last": index[-1],
        "bars": len(frame),
        "gaps": len(gaps),
        "largest_gaps": gaps[:10],
    }
    if args.json:
        tail = frame.tail(args.rows).reset_index()
        print_json({**facts, "last_rows": plain(tail.to_dict(orient="records"))})
        return 0
    print(
        f"{symbol} ({facts['source']}): {len(frame):,} bars, {_day(index[0])} .. {_day(index[-1])}, "
        f"{len(gaps)} gap(s) longer than {GAP_DAYS:g} calendar days"
    )
    if gaps:
        print(
            table_text(
                ["gap after", "next bar", "days"],
                [[_day(g["after"]), _day(g["before"]), f"{g['days']:g}"] for g in gaps[:10]],
            )
        )
    if args.rows:
        print(frame_text(frame.tail(args.rows)))
    return 0


def data_import(args: argparse.Namespace) -> int:
    """Import what is valid; exit 1 (after keeping the good files) if any file failed."""
    report = import_files(args.paths)
    if args.json:
        print_json(
            {
                "imported": [
                    {"symbol": i.symbol, "path": i.path, "bars": i.bars, "first": i.first, "last": i.last}
                    for i in report.imported
                ],
                "errors": report.errors,
            }
        )
    else:
        for i in report.imported:
            print(f"imported {i.symbol}: {i.bars:,} bars, {_day(i.first)} .. {_day(i.last)} from {i.path}")
        for path, error in report.errors.items():
            print(f"failed {path}: {error}")
        print(f"{len(report.imported)} imported, {len(report.errors)} failed")
    return 0 if report.ok else 1


def data_update(args: argparse.Namespace) -> int:
    """One line per symbol on stdout; each failure also as one line on stderr; exit 1 if any failed."""
    results = update_symbols(split_symbols(args.symbols), args.source, progress=None if args.json else _progress)
    if args.json:
        print_json({"results": [r.to_dict() for r in results]})
    else:
        for r in results:
            print(safe(_update_line(r)))
        failed = [r for r in results if not r.ok]
        print(f"{len(results) - len(failed)} updated, {len(failed)} failed")
        for r in failed:
            print(f"ivybt: error: {safe(r.message)}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def _progress(done: int, total: int, symbol: str) -> None:
    if symbol and sys.stderr.isatty():
        print(f"[{done + 1}/{total}] {symbol} ...", file=sys.stderr, flush=True)


def _update_line(r: SymbolUpdate) -> str:
    if not r.ok:
        return f"failed {r.symbol}: {r.message}"
    dropped = f", {r.dropped:,} dropped" if r.dropped else ""
    return (
        f"{r.action} {r.symbol}: +{r.added:,} bars{dropped}, {r.bars:,} stored, {_day(r.first)} .. {_day(r.last)} "
        f"from {r.source}: {r.message}"
    )


def data_freshness(args: argparse.Namespace) -> int:
    table = freshness_table(symbol_info(args.data_dir))
    expected = expected_session()
    if args.json:
        records = [
            {
                "symbol": r.symbol,
                "source": r.source,
                "last": None if pd.isna(r.last) else _day(r.last),
                "age_trading_days": None if pd.isna(r.age_trading_days) else int(r.age_trading_days),
            }
            for r in table.itertuples()
        ]
        print_json({"expected_session": expected.isoformat(), "symbols": records})
        return 0
    rows = [
        [
            r.symbol,
            r.source,
            "" if pd.isna(r.last) else _day(r.last),
            "" if pd.isna(r.age_trading_days) else r.age_trading_days,
        ]
        for r in table.itertuples()
    ]
    print(table_text(["symbol", "source", "last bar", "age (trading days)"], rows))
    print(f"expected last session: {expected.isoformat()} (NYSE); refresh with `ivybt data update`")
    return 0


def _day(ts: object) -> str:
    return ts.strftime("%Y-%m-%d") if hasattr(ts, "strftime") else str(ts)


def _days(n: float) -> pd.Timedelta:
    """A Timedelta of n calendar days."""
    return pd.Timedelta(days=n)

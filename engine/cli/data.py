"""`ivybt data list|show|import`: what market data is available, and importing user files."""

from __future__ import annotations

import argparse

import pandas as pd

from engine.cli.options import add_data_dir, add_json
from engine.cli.output import frame_text, print_json, table_text
from engine.data import get_source, import_files, symbol_info
from engine.data.cache import load_cached
from engine.data.info import GAP_DAYS
from engine.errors import ConfigError
from engine.store.jsonable import plain


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list, inspect or import market data")
    dsub = p.add_subparsers(dest="data_cmd", required=True, metavar="{list,show,import}")
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


def _day(ts: object) -> str:
    return ts.strftime("%Y-%m-%d") if hasattr(ts, "strftime") else str(ts)


def _days(n: float) -> pd.Timedelta:
    """A Timedelta of n calendar days."""
    return pd.Timedelta(days=n)

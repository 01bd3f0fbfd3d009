"""`ivybt greeks`: the Greeks of a book of positions, per position and in total, or by symbol / sector.

    ivybt greeks --positions book.json                  (a JSON list of what-if position records)
    ivybt greeks --broker paper --benchmark QQQ --by sector
    ivybt greeks --positions book.json --json --payoff  (adds the payoff table: value at expiry and today)

Units: delta in shares and $, gamma per $1 and dollar gamma per 1 % move, theta in $ per calendar day, vega in $
per vol point, beta-weighted delta in shares of the benchmark (beta from the daily data up to --asof).
"""

from __future__ import annotations

import argparse

from engine.cli.options import add_json
from engine.cli.output import print_json, safe, table_text
from engine.cli.whatif import _asof
from engine.errors import ConfigError
from engine.whatif import Market, load_positions, prepare
from engine.whatif.greeks_book import GREEKS, GreeksBook, book_from_data, greek_label
from engine.whatif.payoff import payoff_table
from engine.whatif.scenario import DEFAULT_LOOKBACK
from engine.whatif.sources import source_positions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("greeks", help="delta, gamma, theta, vega and beta-weighted delta of a book of positions")
    p.add_argument("--positions", metavar="FILE", help="JSON list of {symbol, quantity, price, implied_vol, ...}")
    p.add_argument("--broker", metavar="NAME", help="the positions of a broker account instead (paper, alpaca, ibkr)")
    p.add_argument("--benchmark", default="SPY", help="benchmark of the beta-weighted delta (default SPY)")
    p.add_argument("--by", choices=("position", "symbol", "sector"), default="position", help="rows (default position)")
    p.add_argument("--lookback", type=int, default=DEFAULT_LOOKBACK, help="daily bars for the betas (default 252)")
    p.add_argument("--rate", type=float, default=0.0, help="risk-free rate of the option model (default 0)")
    p.add_argument("--dividend", type=float, default=0.0, help="dividend yield of the option model (default 0)")
    p.add_argument("--asof", metavar="YYYY-MM-DD", help="valuation date (default today, UTC)")
    p.add_argument("--data-dir", metavar="FOLDER", help="daily data for the betas (default: workspace, sample)")
    p.add_argument("--payoff", action="store_true", help="also the book's value at expiry and today over -30..+30 %")
    add_json(p)
    p.set_defaults(func=greeks_command)


def greeks_command(args: argparse.Namespace) -> int:
    if bool(args.positions) == bool(args.broker):
        raise ConfigError("give --positions FILE (a JSON list of position records) or --broker NAME, one of them")
    positions = load_positions(args.positions) if args.positions else source_positions(args.broker)
    market = Market(_asof(args.asof), args.rate, args.dividend)
    book = book_from_data(positions, market, args.benchmark, args.lookback, args.data_dir)
    payoff = payoff_table(prepare(positions, market), market) if args.payoff else None
    if args.json:
        print_json({**book.to_dict(), **({"payoff": payoff.to_dict()} if payoff else {})})
        return 0
    print(book_text(book, args.by))
    if payoff:
        print()
        rows = [[f"{m:+.0%}", _num(e), _num(t)] for m, e, t in zip(payoff.moves, payoff.pnl_expiry, payoff.pnl_today)]
        print("P&L of the book per move of every underlying (vs today's model value)")
        print(table_text(["move", "at expiry", "today"], rows, align_right_from=1))
    return 0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _float(value: float | str | None) -> float | None:
    return None if value is None else float(value)


def book_text(book: GreeksBook, by: str = "position") -> str:
    """The book as a text table: one row per position (or symbol / sector) and a total row."""
    headers = [greek_label(g, book.benchmark) for g in GREEKS]
    if by == "position":
        first = ["symbol", "qty", "price (underlying)"]
        rows = [
            [r.symbol, f"{r.quantity:g}", _num(r.underlying_price), *(_num(getattr(r, g)) for g in GREEKS)]
            for r in book.rows
        ]
    else:
        first = [by]
        groups = book.by("symbol" if by == "symbol" else "sector")
        rows = [[str(g[by]), *(_num(_float(g[k])) for k in GREEKS)] for g in groups]
    total = book.totals()
    rows.append(["total", *[""] * (len(first) - 1), *(_num(total[g]) for g in GREEKS)])
    bench = f"{book.benchmark} at {_num(book.benchmark_price)}" if book.benchmark_price else book.benchmark
    head = f"Greeks as of {book.asof} (benchmark {bench})"
    lines = [safe(head), table_text(first + headers, rows, align_right_from=1)]
    lines += [f"warning: {safe(w)}" for w in book.warnings]
    return "\n".join(lines)

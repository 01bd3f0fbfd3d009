"""`ivybt regimes`: a symbol's market regimes, and a stored run's performance split by regime.

ivybt regimes --symbol SPY                         (voltrend: SMA trend x realized-volatility quantile)
ivybt regimes --symbol SPY --method markov --json  (two-state Markov switching, filtered probabilities)
ivybt regimes --symbol SPY --run 3f2a9c            (the run's returns by the regime in force over each bar)
"""

from __future__ import annotations

import argparse

from engine.cli.options import add_json
from engine.cli.output import print_json, table_text
from engine.metrics.registry import format_value, label
from engine.research.regimes import TABLE_METRICS, RegimeReport, regime_report
from engine.strategies.regimes import REGIME_METHODS, RegimeModel


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("regimes", help="market regimes of a symbol; a run's performance by regime (--run)")
    p.add_argument("--symbol", required=True, help="the symbol whose prices define the regimes (e.g. SPY)")
    p.add_argument("--method", choices=REGIME_METHODS, default="voltrend", help="regime model (default voltrend)")
    p.add_argument("--run", metavar="ID", help="a stored run: its per-bar returns split by regime")
    p.add_argument("--start", metavar="YYYY-MM-DD", help="first bar shown (the model still learns from earlier bars)")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="last bar")
    d = RegimeModel()
    p.add_argument("--sma-length", type=int, default=d.sma_length, help=f"trend SMA, bars (default {d.sma_length})")
    p.add_argument("--vol-window", type=int, default=d.vol_window, help=f"realized-vol window (default {d.vol_window})")
    p.add_argument("--vol-quantile", type=float, default=d.vol_quantile, help="volatile above this quantile")
    p.add_argument("--min-history", type=int, default=d.min_history, help="bars before the first regime")
    p.add_argument("--markov-window", type=int, default=d.markov_window, help="Markov fit window (0 = expanding)")
    p.add_argument("--refit-every", type=int, default=d.refit_every, help="refit the Markov model every N bars")
    add_json(p)
    p.set_defaults(func=regimes_command)


def model_from(args: argparse.Namespace) -> RegimeModel:
    return RegimeModel(
        args.method,
        args.vol_window,
        args.vol_quantile,
        args.sma_length,
        args.min_history,
        args.markov_window,
        args.refit_every,
    )


def regimes_command(args: argparse.Namespace) -> int:
    report = regime_report(args.symbol.upper(), model_from(args), args.run, args.start, args.end)
    if args.json:
        print_json(report.to_dict())
        return 0
    print(report_text(report))
    return 0


def report_text(report: RegimeReport) -> str:
    """Bars per regime, the current regime and, for a run, its performance by regime."""
    counts = report.labels.value_counts()
    total = max(len(report.labels), 1)
    current = report.labels.iloc[-1] if len(report.labels) else None
    now = "undefined" if current is None or not isinstance(current, str) else current
    lines = [f"{report.symbol}: {report.model.method} regimes over {len(report.labels):,} bars; now {now}"]
    rows = [
        [name, f"{int(counts.get(name, 0)):,}", f"{counts.get(name, 0) / total:.1%}"] for name in report.model.labels
    ]
    lines.append(table_text(["regime", "bars", "share"], rows, align_right_from=1))
    if report.table is not None:
        lines.append("")
        lines.append(f"Run {report.run_id} by the regime in force over each bar")
        headers = ["regime", "bars", "share", *(label(k) for k in TABLE_METRICS)]
        body = [
            [name, f"{row['bars']:,.0f}", f"{row['share']:.1%}", *(format_value(k, row[k]) for k in TABLE_METRICS)]
            for name, row in report.table.iterrows()
        ]
        lines.append(table_text(headers, body, align_right_from=1))
    return "\n".join(lines)

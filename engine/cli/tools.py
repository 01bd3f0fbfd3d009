"""`ivybt audit` (look-ahead audit of a strategy) and `ivybt app` (start the Streamlit app)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict

from engine.cli.options import add_data_dir, add_dates, add_json, add_param, add_symbols, add_user_code_limits
from engine.cli.output import print_json
from engine.cli.parsing import parse_params, split_symbols, typed_params
from engine.data import get_source, load_market_data
from engine.errors import ConfigError
from engine.research.audit import audit_lookahead
from engine.research.event_audit import audit_event_lookahead
from engine.store.workspace import REPO_ROOT
from engine.strategies.registry import create_event_strategy, create_strategy, is_event_strategy

DEFAULT_AUDIT_SYMBOLS = ("SPY", "QQQ", "TLT", "GLD")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="look-ahead audit: recompute a strategy on truncated data (exit 1 if it fails)")
    p.add_argument("strategy")
    add_symbols(p, f"symbols (default {' '.join(DEFAULT_AUDIT_SYMBOLS)})")
    add_param(p)
    p.add_argument("--checks", type=int, default=40, help="number of truncation points (default 40)")
    add_dates(p)
    add_data_dir(p)
    add_user_code_limits(p)
    add_json(p)
    p.set_defaults(func=audit)

    p = sub.add_parser("app", help="start the Streamlit app")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="bind address (default loopback: the app can send orders, do not expose it without thought)",
    )
    p.set_defaults(func=app)


def audit(args: argparse.Namespace) -> int:
    if args.checks < 1:
        raise ConfigError(f"--checks {args.checks}: must be >= 1")
    params = typed_params(args.strategy, parse_params(args.param))
    symbols = split_symbols(args.symbols) or list(DEFAULT_AUDIT_SYMBOLS)
    data = load_market_data(symbols, args.start, args.end, get_source(args.data_dir))
    if is_event_strategy(args.strategy):  # its orders, run on truncated data (engine.research.event_audit)
        report = audit_event_lookahead(lambda: create_event_strategy(args.strategy, params), data, n_checks=args.checks)
    else:
        report = audit_lookahead(create_strategy(args.strategy, params), data, n_checks=args.checks)
    if args.json:
        out = {k: v for k, v in asdict(report).items() if k != "points"}
        print_json({**out, "symbols": symbols, "summary": report.summary()})
    else:
        print(report.summary())
    return 0 if report.passed else 1


def app(args: argparse.Namespace) -> int:
    script = REPO_ROOT / "app.py"
    if not script.is_file():
        raise ConfigError(f"app: {script} not found (run `ivybt app` from a source checkout of IvyBT)")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port}: must be 1..65535")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
    ]
    # become Streamlit (exec, not a child): a signal to `ivybt app` reaches the server, none is orphaned
    os.chdir(REPO_ROOT)
    os.execv(sys.executable, cmd)
    return 0  # not reached

"""`ivybt options`: the option chain of any option-capable broker and the paper account's implied vols.

    ivybt options chain SYMBOL [--expiry YYYY-MM-DD] [--broker paper|alpaca|ibkr] [--json]
    ivybt options vol SYMBOL [VOL]        (paper: show, or set, the implied vol pricing SYMBOL's options)

The work is brokers.options_service's; this module only parses and prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from typing import Any

from brokers import make_broker
from brokers.cli_desk import quiet_ib
from brokers.options_service import option_chain_frame, paper_option_vol, set_paper_option_vol
from brokers.registry import BROKER_NAMES
from engine.cli.output import print_json, table_text
from engine.errors import ConfigError


def _options_subcommands(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The subcommands of `ivybt options` (engine/cli/option_pricing.py registers price / iv / symbol there; the
    broker commands join them), made here when the engine did not register it."""
    parser = sub.choices.get("options")
    if parser is None:
        parser = sub.add_parser("options", help="option chains and the paper account's implied vols")
        return parser.add_subparsers(dest="options_cmd", required=True, metavar="{chain,vol}")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            action.metavar = "{" + ",".join([*action.choices, "chain", "vol"]) + "}"
            return action
    raise RuntimeError("ivybt options: the engine's parser has no subcommands to join")


def register(sub: argparse._SubParsersAction) -> None:
    osub = _options_subcommands(sub)
    q = osub.add_parser("chain", help="contracts of an underlying with bid/ask/last, implied vol and Greeks")
    q.add_argument("symbol")
    q.add_argument("--expiry", default=None, help="one expiry (YYYY-MM-DD); default: the broker's own choice")
    q.add_argument("--broker", default=None, choices=BROKER_NAMES, help="broker (default $IVYBT_BROKER or paper)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=chain_cmd)
    q = osub.add_parser("vol", help="show or set the implied vol that prices a symbol's paper options")
    q.add_argument("symbol")
    q.add_argument("vol", nargs="?", type=float, default=None, help="annual decimal (0.25 = 25 %%); omit to show")
    q.add_argument("--broker", default="paper", choices=("paper",), help="only the paper broker takes a vol")
    q.set_defaults(func=vol_cmd)


def _expiry(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"options chain: --expiry {text!r} is not a date (YYYY-MM-DD)") from None


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.isoformat() if isinstance(value, dt.date) else value


def chain_cmd(args: argparse.Namespace) -> int:
    expiry = _expiry(args.expiry)
    quiet_ib()
    broker = make_broker(args.broker)
    try:
        frame = option_chain_frame(broker, args.symbol, expiry)
    finally:
        broker.close()
    rows = [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict("records")]
    if args.json:
        print_json({"broker": broker.name, "underlying": args.symbol.upper(), "contracts": rows})
        return 0
    if not rows:
        print(f"{broker.name}: no listed {args.symbol.upper()} options" + (f" expiring {expiry}" if expiry else ""))
        return 0
    cols = [
        "symbol",
        "expiry",
        "right",
        "strike",
        "bid",
        "ask",
        "last",
        "implied_vol",
        "delta",
        "gamma",
        "theta",
        "vega",
    ]
    print(table_text(cols, [[_cell(r[c]) for c in cols] for r in rows]))
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def vol_cmd(args: argparse.Namespace) -> int:
    if args.vol is None:
        vol, source = paper_option_vol(args.symbol)
    else:
        vol, source = set_paper_option_vol(args.symbol, args.vol, origin="cli")
    print(f"paper options of {args.symbol.upper()}: implied vol {vol:.4g} ({source})")
    return 0

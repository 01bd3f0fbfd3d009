"""`ivybt live --preset NAME --broker paper|alpaca|ibkr`: run a preset's event strategy on bars as they close.

    ivybt live --preset NAME [--broker paper] [--poll 60] [--bars workspace|broker] [--yes-live]
    ivybt live --preset NAME --replay 2020-01-02..2020-12-31 [--pace 0.5]   (a rehearsal on past bars)

Runs until stopped (SIGTERM or Ctrl-C: the strategy's on_stop runs, the state is saved) or, with --replay, until
the last bar of the range. The state is kept in the workspace (brokers.live.state): run the same command again
after a crash and it continues where it stopped. Exit codes: 0 stopped or finished, 2 bad input, a broker
error, a LIVE account without --yes-live, or the loop already running (the message names its holder).
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from brokers.live.session import BAR_ORIGINS, LiveOptions, run_live
from brokers.registry import BROKER_NAMES
from engine.cli.options import add_json
from engine.cli.output import print_json
from engine.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="run a preset's event strategy on new bars as they close (paper by default)")
    what = p.add_argument_group("what to run")
    what.add_argument("--preset", required=True, help="preset name or path; its strategy is an event strategy")
    what.add_argument("--broker", default="paper", choices=BROKER_NAMES, help="broker (default paper)")
    bars = p.add_argument_group("bars")
    bars.add_argument("--poll", type=float, default=60.0, help="seconds between looks for a new bar (default 60)")
    bars.add_argument(
        "--bars",
        default="workspace",
        choices=BAR_ORIGINS,
        help="workspace data (default), or first import the broker's bars into the workspace at each look",
    )
    bars.add_argument(
        "--replay", metavar="START..END", help="rehearse on past bars of the preset's data (END optional)"
    )
    bars.add_argument("--pace", type=float, default=0.0, help="seconds between replayed bars (default 0)")
    safety = p.add_argument_group("safety")
    safety.add_argument("--yes-live", action="store_true", help="confirm running on a LIVE account")
    safety.add_argument(
        "--wait-lease", type=float, default=0.0, help="seconds to wait for a running loop of the preset to end"
    )
    add_json(p)
    p.set_defaults(func=live)


def parse_replay(text: str | None) -> tuple[str, str | None] | None:
    """ "START..END" (END optional) -> (START, END or None); ConfigError for anything else."""
    if text is None:
        return None
    start, sep, end = text.partition("..")
    if not sep or not start.strip():
        raise ConfigError(f"--replay {text!r}: expected START..END (e.g. 2020-01-02..2020-12-31; END may be empty)")
    return start.strip(), end.strip() or None


def live(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    opts = LiveOptions(
        preset=args.preset,
        broker=args.broker,
        replay=parse_replay(args.replay),
        pace=args.pace,
        poll=args.poll,
        bars=args.bars,
        yes_live=args.yes_live,
        wait_lease=args.wait_lease,
    )
    state = run_live(opts, stop)
    out = {
        "session": state.session,
        "status": state.status,
        "bars_processed": state.bars_processed,
        "last_bar": state.last_bar,
        "last_decision": state.last_decision,
        "positions": state.positions,
        "open_orders": state.open_orders,
    }
    if args.json:
        print_json(out)
    else:
        print(
            f"live {state.session}: {state.status} after bar {state.last_bar} ({state.bars_processed} bars "
            f"processed); last: {state.last_decision or 'no decision'}"
        )
    return 0

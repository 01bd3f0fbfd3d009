"""`ivybt alerts test [--channel ...]` and `ivybt notifications [--unread] [--json]` / `notifications read ID|--all`:
send a test alert through each channel; read and clear the in-app notification list."""

from __future__ import annotations

import argparse
import time

from engine.alerts import ALL_CHANNELS, Inbox, alert
from engine.cli.options import add_json
from engine.cli.output import print_json, table_text
from engine.cli.parsing import UsageError

TEST_WAIT_S = 120.0
"""Upper bound on how long `alerts test` waits for the channels (each attempt has its own timeout)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="send a test alert through the configured channels")
    asub = p.add_subparsers(dest="alerts_cmd", required=True, metavar="{test}")
    q = asub.add_parser("test", help="send a test alert; one line per channel: delivered, failed or not configured")
    q.add_argument("--channel", choices=ALL_CHANNELS, action="append", help="only this channel (repeatable)")
    q.set_defaults(func=alerts_test)
    p = sub.add_parser("notifications", help="the in-app notification list; `notifications read ID|--all`")
    p.add_argument("action", nargs="?", choices=["read"], help="mark notifications read")
    p.add_argument("id", nargs="?", help="with read: the notification id")
    p.add_argument("--all", action="store_true", help="with read: mark every notification read")
    p.add_argument("--unread", action="store_true", help="only the unread ones")
    p.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50)")
    add_json(p)
    p.set_defaults(func=notifications)


def alerts_test(args: argparse.Namespace) -> int:
    """Exit 0 when every asked channel delivered or is not configured, 1 when one failed."""
    channels = args.channel or list(ALL_CHANNELS)
    outcomes = alert("test", "IvyBT test alert", "sent by `ivybt alerts test`", channels=channels).wait(TEST_WAIT_S)
    for name in channels:
        print(f"{name}: {outcomes.get(name, 'not configured')}")
    return 1 if any(o.startswith("failed") for o in outcomes.values()) else 0


def notifications(args: argparse.Namespace) -> int:
    box = Inbox()
    if args.action == "read":
        return _read(box, args)
    if args.id is not None or args.all:
        raise UsageError("an id or --all goes with `ivybt notifications read`")
    rows = box.list(unread=args.unread, limit=args.limit)
    if args.json:
        print_json({"unread": box.unread_count(), "notifications": [r.to_dict() for r in rows]})
        return 0
    if not rows:
        print("no unread notifications" if args.unread else "no notifications")
        return 0
    table = [
        [
            r.id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.time)),
            r.level,
            r.event,
            "" if r.read else "*",
            r.title,
        ]
        for r in rows
    ]
    print(table_text(["id", "time (UTC)", "level", "event", "new", "title"], table))
    return 0


def _read(box: Inbox, args: argparse.Namespace) -> int:
    if args.all == (args.id is not None):
        raise UsageError("`ivybt notifications read` takes one id or --all")
    if args.all:
        print(f"marked {box.mark_all_read()} notification(s) read")
        return 0
    try:
        number = int(args.id)
    except ValueError:
        raise UsageError(f"a notification id is a whole number, got {args.id!r}") from None
    try:
        box.mark_read(number)
    except KeyError:
        raise UsageError(f"no notification with id {number}") from None
    print(f"marked notification {number} read")
    return 0

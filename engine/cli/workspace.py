"""`ivybt workspace backup [PATH] | restore PATH [--yes] | check`: the workspace database's backups and health."""

from __future__ import annotations

import argparse
import sys

from engine.errors import DatabaseCorrupt
from engine.store import backup as backups
from engine.store.sqlite import corrupt_message


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workspace", help="back up, restore or check the workspace database")
    wsub = p.add_subparsers(dest="workspace_cmd", required=True, metavar="{backup,restore,check}")
    q = wsub.add_parser("backup", help="copy the database while it is in use (SQLite's online backup)")
    q.add_argument("path", nargs="?", help="new file to write (default: <workspace>/backups/ivybt-<UTC time>.db)")
    q.set_defaults(func=backup)
    q = wsub.add_parser("restore", help="replace the database with a backup (the current one is kept aside)")
    q.add_argument("path", help="a backup made by `ivybt workspace backup`")
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(func=restore)
    q = wsub.add_parser("check", help="SQLite's integrity check of the database; exit 2 if it is damaged")
    q.set_defaults(func=check)


def backup(args: argparse.Namespace) -> int:
    path = backups.backup(args.path)
    print(f"backed up the workspace database to {path}")
    return 0


def restore(args: argparse.Namespace) -> int:
    if not args.yes and not _confirmed(f"replace the workspace database with {args.path}? [y/N] "):
        print(f"ivybt: error: {args.path} not restored (confirm, or pass --yes)", file=sys.stderr)
        return 1
    aside = backups.restore(args.path)
    kept = f"; the previous database is kept as {aside}" if aside else ""
    print(f"restored {args.path} into the workspace database{kept}")
    return 0


def check(args: argparse.Namespace) -> int:
    report = backups.check()
    if not report.ok:
        raise DatabaseCorrupt(corrupt_message(report.path, "; ".join(report.problems[:3])))
    runs = report.counts.get("runs", 0)
    print(f"ok: {report.path} passed SQLite's integrity check (runs: {runs}, tables: {len(report.counts)})")
    return 0


def _confirmed(prompt: str) -> bool:
    try:
        answer = input(prompt) if sys.stdin and sys.stdin.isatty() else ""
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")

"""The `ivybt protect` commands (registered by brokers.cli, the "ivybt.commands" entry point):

    ivybt protect check --preset NAME [--broker NAME] [--json]
    ivybt protect repair --preset NAME [--yes] [--yes-live] [--broker NAME] [--json]

`check` compares each position of the preset's symbols with the protective order the preset's risk block wants
(brokers.protect: missing, wrong size or price, wrong side, extra, refused by the venue) and lists every
protective order without a position. `repair` shows what it would do; with `--yes` it cancels, resizes and places
(brokers.protect_repair), then checks again; a LIVE account also needs `--yes-live`. Both are audited: a
"reconcile" event with the report, and repair's steps as order / ack / error events. Exit codes: 0 every
position protected, 1 problems found (or left after a repair), 2 bad input or a broker error (one line on stderr).
"""

from __future__ import annotations

import argparse
from os import environ
from typing import Any

from brokers import make_broker
from brokers.base import Broker, BrokerConfigError
from brokers.cli_desk import quiet_ib
from brokers.protect import ProtectionReport, protection_report
from brokers.protect_repair import RepairStep, repair
from brokers.registry import BROKER_NAMES
from engine.cli.output import print_json, table_text
from engine.ops.audit_log import AuditLog
from engine.store.presets import Preset, load_preset


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", required=True, help="preset name or path to a preset .json (its risk block)")
    p.add_argument("--broker", default=None, choices=BROKER_NAMES, help="broker (default $IVYBT_BROKER or paper)")
    p.add_argument("--json", action="store_true")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protect", help="protective orders (stop / take-profit / trailing) of a preset's positions")
    psub = p.add_subparsers(dest="protect_cmd", required=True, metavar="{check,repair}")
    q = psub.add_parser("check", help="positions without their protection, protective orders without a position")
    _common(q)
    q.set_defaults(func=check_cmd)
    q = psub.add_parser("repair", help="place, resize and cancel protective orders to match the preset")
    q.add_argument("--yes", action="store_true", help="send the changes (default: show them only)")
    q.add_argument("--yes-live", action="store_true", help="confirm on a LIVE account")
    _common(q)
    q.set_defaults(func=repair_cmd)


def _broker(name: str | None, preset: Preset) -> Broker:
    """The broker; the paper broker fills a triggered order with the preset's costs, as `ivybt rebalance` does."""
    quiet_ib()
    if (name or environ.get("IVYBT_BROKER") or "paper").strip().lower() == "paper":
        return make_broker("paper", costs=preset.backtest_config().costs)
    return make_broker(name)


def _report(broker: Broker, preset: Preset) -> ProtectionReport:
    return protection_report(broker, preset.backtest_config().risk, preset.to_request().symbols)


def _audit(preset: Preset, command: str, report: ProtectionReport, steps: list[RepairStep]) -> None:
    AuditLog().event(
        "reconcile",
        f"protect {command} {preset.name}: {report.summary()}" + (f"; {len(steps)} step(s)" if steps else ""),
        payload={"origin": "cli", "preset": preset.name, **report.to_dict(), "steps": [s.__dict__ for s in steps]},
    )


def _print(report: ProtectionReport) -> None:
    print(report.summary())
    rows = [r.record() for r in report.rows]
    cols = ["symbol", "position", "status", "action", "order", "message"]
    if rows:
        print(table_text(cols, [[_cell(r[c]) for c in cols] for r in rows]))
    for note in report.notes:
        print(f"note: {note}")


def _cell(v: Any) -> str:
    return f"{v:,.6g}" if isinstance(v, float) else str(v)


def check_cmd(args: argparse.Namespace) -> int:
    preset = load_preset(args.preset)
    broker = _broker(args.broker, preset)
    try:
        report = _report(broker, preset)
    finally:
        broker.close()
    _audit(preset, "check", report, [])
    if args.json:
        print_json({"preset": preset.name, **report.to_dict()})
    else:
        _print(report)
    return 0 if not report.problems else 1


def repair_cmd(args: argparse.Namespace) -> int:
    preset = load_preset(args.preset)
    broker = _broker(args.broker, preset)
    steps: list[RepairStep] = []
    try:
        before = after = _report(broker, preset)
        if before.problems and args.yes:
            if broker.is_live and not args.yes_live:
                raise BrokerConfigError(f"{broker.name} is a LIVE account: add --yes-live to repair (nothing was sent)")
            steps = repair(broker, before, origin="cli")
            after = _report(broker, preset)
    finally:
        broker.close()
    _audit(preset, "repair" if args.yes else "repair (dry run)", after, steps)
    if args.json:
        out = {"preset": preset.name, "sent": bool(steps), "before": before.to_dict(), "after": after.to_dict()}
        print_json({**out, "steps": [s.__dict__ for s in steps]})
        return 0 if not after.problems else 1
    for s in steps:
        print(f"{'done' if s.ok else 'FAILED'}: {s.action} {s.symbol}: {s.message}")
    _print(after)
    if before.problems and not args.yes:
        print("dry run: nothing sent (add --yes to repair)")
    return 0 if not after.problems else 1

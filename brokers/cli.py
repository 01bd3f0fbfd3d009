"""The `ivybt` commands that need a broker, plugged in through the "ivybt.commands" entry-point group.

    ivybt signals --preset NAME [--refresh --broker alpaca|ibkr] [--json]
    ivybt rebalance --preset NAME --broker paper|alpaca|ibkr [--refresh] [--execute] [--yes-live] [--json]
    ivybt broker status [--broker NAME] [--json]
    ivybt broker kill-switch on|off|status [--reason TEXT]
    ivybt broker paper-reset [--cash N] --yes
    ivybt audit-log [--limit N] [--plan ID] [--json]
    ivybt positions | account [history] | orders list|cancel|cancel-all | flatten   (brokers/cli_desk.py)
    ivybt protect check|repair --preset NAME                                   (brokers/cli_protect.py)
    ivybt options chain SYMBOL | options vol SYMBOL [VOL]                      (brokers/cli_options.py)
    ivybt live --preset NAME --broker paper|alpaca|ibkr [--replay START..END]  (brokers/live/cli.py)

`--refresh` first downloads the preset's daily bars from the broker's bar source (Alpaca market data or IBKR
historical data) into the workspace (brokers.refresh), so the signals use the latest session.

`rebalance` is a dry run (prints the plan and its checks) unless `--execute`; a live account also needs
`--yes-live` (and the adapters' own opt-in, IVYBT_ALLOW_LIVE=1). Broker settings and keys come from the
environment (see `brokers.make_broker`); the paper broker fills with the preset's commission and slippage.
Exit codes, for cron: 0 done (or a dry run of an approved plan, or a plan already executed: its summary says
"already executed", nothing is sent; a rerun after a crash sends only the orders the broker does not have), 1 plan
blocked by a check or execution not complete, 2 bad input or a broker error (one line on stderr).
"""

from __future__ import annotations

import argparse
from os import environ
from typing import Any

from brokers import make_broker
from brokers.base import BrokerConfigError, BrokerError
from brokers.cli_desk import quiet_ib as _quiet_ib
from brokers.cli_desk import register as register_desk
from brokers.cli_options import register as register_options
from brokers.cli_protect import register as register_protect
from brokers.data_sources import register as register_data_sources
from brokers.execution import execute_plan
from brokers.live.cli import register as register_live
from brokers.notify import notify_plan
from brokers.planning import plan_rebalance
from brokers.refresh import bar_source, close_source, refresh_bars
from brokers.registry import BROKER_NAMES
from brokers.services import (
    audit_events,
    audit_signal_failure,
    broker_status,
    kill_switch_status,
    reset_paper_account,
    switch_kill_switch,
)
from brokers.whatif_positions import register as register_whatif_positions
from engine.cli.output import print_json, table_text
from engine.data import load_market_data
from engine.data.sources import WorkspaceSource
from engine.errors import EngineError
from engine.ops.audit_log import AuditLog
from engine.ops.signals import generate_signals
from engine.store.presets import load_preset

USER_ERRORS: list[type[BaseException]] = [BrokerError]
"""Appended to engine.cli.USER_ERRORS: reported as one line with exit code 2."""

register_data_sources()  # alpaca / ibkr as `ivybt data update --source` (engine.data.update_sources)
register_whatif_positions()  # paper / alpaca / ibkr as `ivybt whatif --broker` (engine.whatif.sources)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("signals", help="today's target weights of a preset (stored in the audit log)")
    p.add_argument("--preset", required=True, help="preset name or path to a preset .json")
    p.add_argument("--no-record", action="store_true", help="do not store the signal")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="first download the preset's latest daily bars from --broker into the workspace",
    )
    p.add_argument(
        "--broker",
        default=None,
        choices=BROKER_NAMES,
        help="bar source for --refresh (default $IVYBT_BROKER)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=signals)

    p = sub.add_parser("rebalance", help="plan (dry run) or execute today's rebalance of a preset on a broker")
    p.add_argument("--preset", required=True)
    p.add_argument("--broker", default=None, choices=BROKER_NAMES, help="broker (default $IVYBT_BROKER or paper)")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="first download the preset's latest daily bars from the broker into the workspace",
    )
    p.add_argument("--execute", action="store_true", help="send the orders (default: print the plan only)")
    p.add_argument("--yes-live", action="store_true", help="confirm execution on a LIVE account")
    p.add_argument("--min-notional", type=float, default=None, help="skip orders below this value")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for fills (default 30)")
    p.add_argument("--notify", action="store_true", help="post plan and result to $IVYBT_WEBHOOK_URL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=rebalance)

    p = sub.add_parser("broker", help="broker connection status and the kill switch")
    bsub = p.add_subparsers(dest="broker_cmd", required=True, metavar="{status,kill-switch,paper-reset}")
    q = bsub.add_parser("status", help="connected? account, equity, cash, PAPER/LIVE (never keys)")
    q.add_argument("--broker", default=None, choices=BROKER_NAMES)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=broker_status_cmd)
    q = bsub.add_parser("kill-switch", help="block (on) or allow (off) every execution")
    q.add_argument("state", choices=("on", "off", "status"))
    q.add_argument("--reason", default="")
    q.set_defaults(func=kill_switch_cmd)
    q = bsub.add_parser("paper-reset", help="start the paper account over (drops positions, orders and fills)")
    q.add_argument("--cash", type=float, default=None, help="starting cash (default: the account's initial cash)")
    q.add_argument("--yes", action="store_true", help="confirm: the paper account's history is deleted")
    q.set_defaults(func=paper_reset_cmd)

    p = sub.add_parser("audit-log", help="the daily-ops audit log: signals, plans, orders, acks, fills, errors")
    p.add_argument("--limit", type=int, default=50, help="newest N events (default 50)")
    p.add_argument("--plan", default=None, help="only events of this plan id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=audit_log_cmd)

    register_desk(sub)  # positions, account, orders, flatten (brokers/cli_desk.py)
    register_protect(sub)  # protect check / repair (brokers/cli_protect.py)
    register_options(sub)  # options chain / vol (brokers/cli_options.py)
    register_live(sub)  # live --preset NAME (brokers/live/cli.py)


def _table(frame: Any, columns: list[str]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.6g}" if abs(v) < 1e5 else f"{v:,.2f}"
        return "" if v is None else str(v)

    return table_text(columns, [[cell(getattr(r, c)) for c in columns] for r in frame.itertuples()])


def _refresh(preset: Any, broker_name: str | None, broker: Any = None, quiet: bool = False) -> Any:
    """Download the preset's bars from the broker's bar source into the workspace; the fresh MarketData."""

    request = preset.to_request()
    name = (broker_name or environ.get("IVYBT_BROKER") or "paper").strip().lower()
    source = bar_source(name, request.symbols, request.start, broker)
    try:
        done = refresh_bars(source, list(request.symbols))
    finally:
        close_source(source)  # a source reusing `broker` leaves its connection open
    if not quiet:
        last = max(r.last for r in done)
        print(f"refreshed {len(done)} symbol(s) from {source.name}: last bar {last:%Y-%m-%d}")
    return load_market_data(list(request.symbols), request.start, None, WorkspaceSource())


def signals(args: argparse.Namespace) -> int:
    _quiet_ib()
    preset = load_preset(args.preset)
    try:
        data = _refresh(preset, args.broker, quiet=args.json) if args.refresh else None
        rep = generate_signals(preset, data=data, record=not args.no_record)
    except (EngineError, BrokerError) as e:
        audit_signal_failure(preset.name, e, origin="cli")
        raise
    if args.json:
        print_json(rep.to_dict())
        return 0
    print(rep.summary())
    print(_table(rep.changes, ["symbol", "previous", "target", "change", "action"]))
    for note in rep.notes:
        print(f"note: {note}")
    return 0


def _make(name: str | None, preset: Any = None) -> Any:
    key = (name or "").strip().lower() or None
    if (key or environ.get("IVYBT_BROKER", "paper")) == "paper" and preset is not None:
        return make_broker("paper", costs=preset.backtest_config().costs)
    return make_broker(key)


def rebalance(args: argparse.Namespace) -> int:
    _quiet_ib()
    preset = load_preset(args.preset)
    broker = _make(args.broker, preset)
    try:
        try:
            data = _refresh(preset, broker.name, broker, quiet=args.json) if args.refresh else None
            sig = generate_signals(preset, data=data)
        except (EngineError, BrokerError) as e:
            audit_signal_failure(preset.name, e, origin="cli")
            raise
        plan = plan_rebalance(sig, broker, min_notional=args.min_notional)
        out: dict[str, Any] = {"signal": sig.to_dict(), "plan": plan.to_dict()}
        if not args.json:
            print(sig.summary())
            print(plan.summary())
            print(
                _table(
                    plan.lines(),
                    [
                        "symbol",
                        "target_weight",
                        "price",
                        "current_quantity",
                        "target_quantity",
                        "side",
                        "order_quantity",
                        "notional",
                        "status",
                    ],
                )
            )
            print(_table(plan.checks_frame(), ["check", "status", "message"]))
        if not args.execute:
            if args.notify:
                notify_plan(plan)
            if args.json:
                print_json({**out, "executed": False})
            elif plan.approved:
                print("dry run: nothing sent (add --execute to send the orders)")
            return 0 if plan.approved else 1
        if not plan.approved:
            if args.json:
                print_json({**out, "executed": False})
            print("plan BLOCKED: " + "; ".join(f"{c.name}: {c.message}" for c in plan.failed_checks))
            return 1
        confirm = None
        if plan.is_live:
            if not args.yes_live:
                err = BrokerConfigError(
                    f"{broker.name} account {plan.account_id} is LIVE: add --yes-live to execute (nothing was sent)"
                )
                AuditLog().event(
                    "error",
                    f"execution refused: {err}",
                    plan_id=plan.plan_id,
                    payload={"stage": "execute", "error": "BrokerConfigError"},
                )
                raise err
            confirm = plan.account_id
        report = execute_plan(plan, broker, confirm=confirm, timeout=args.timeout, notify=args.notify)
        if args.json:
            print_json({**out, "executed": True, "execution": report.to_dict()})
        else:
            print(report.summary())
            print(
                _table(
                    report.orders_frame(),
                    [
                        "symbol",
                        "side",
                        "quantity",
                        "status",
                        "filled_quantity",
                        "avg_fill_price",
                        "slippage_bps",
                        "sent",
                        "reason",
                    ],
                )
            )
            print(_table(report.reconciliation, ["symbol", "target_quantity", "actual_quantity", "residual", "status"]))
            for step in report.protection:
                print(f"protect: {step['action']} {step['symbol']}: {step['message']}")
            for message in report.errors:
                print(f"error: {message}")
        return 0 if report.status == "complete" else 1
    finally:
        broker.close()


def broker_status_cmd(args: argparse.Namespace) -> int:
    _quiet_ib()
    broker = _make(args.broker)
    try:
        st = broker_status(broker)
    finally:
        broker.close()
    st["kill_switch"] = kill_switch_status()
    if args.json:
        print_json(st)
    else:
        mode = "LIVE" if st["live"] else "PAPER"
        if st["connected"]:
            print(
                f"{st['broker']} [{mode}] connected: account {st['account_id']}, equity {st['equity']:,.2f} "
                f"{st['currency']}, cash {st['cash']:,.2f}, buying power {st['buying_power']:,.2f}, "
                f"{st['positions']} position(s)"
            )
        else:
            print(f"{st['broker']} [{mode}] NOT connected: {st.get('error', '')}")
        print(f"kill switch: {'ON: ' + st['kill_switch'] if st['kill_switch'] else 'off'}")
    return 0 if st["connected"] else 1


def kill_switch_cmd(args: argparse.Namespace) -> int:
    if args.state == "status":
        reason = kill_switch_status()
    else:
        reason = switch_kill_switch(args.state == "on", args.reason, origin="cli")
    print(f"kill switch: {'ON: ' + reason if reason else 'off'}")
    return 0


def paper_reset_cmd(args: argparse.Namespace) -> int:
    if not args.yes:
        raise BrokerConfigError(
            "paper-reset deletes the paper account's positions, orders and fills: add --yes to confirm"
        )
    account = reset_paper_account(args.cash, origin="cli")
    print(f"paper account reset: {account.account_id} with cash {account.cash:,.2f}, no positions")
    return 0


def audit_log_cmd(args: argparse.Namespace) -> int:
    ev = audit_events(args.limit, args.plan)
    if args.json:
        print_json({"events": ev.to_dict(orient="records")})
        return 0
    if ev.empty:
        print("the audit log is empty")
        return 0
    ev = ev.assign(
        ts=ev["ts"].str[:19].str.replace("T", " "), plan_id=ev["plan_id"].fillna(""), symbol=ev["symbol"].fillna("")
    )
    print(_table(ev, ["id", "ts", "kind", "plan_id", "symbol", "message"]))
    return 0

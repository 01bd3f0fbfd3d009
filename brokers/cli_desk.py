"""The desk commands of `ivybt` (registered by brokers.cli, the "ivybt.commands" entry point):

    ivybt positions [--broker NAME] [--preset NAME] [--json]
    ivybt account [history] [--broker NAME] [--json]
    ivybt orders list [--status open|closed|all] [--symbol S] [--side buy|sell] [--since DATE] [--broker] [--json]
    ivybt orders cancel ID [--broker NAME] [--json]
    ivybt orders modify ID [--quantity Q] [--limit P] [--stop P] [--trail X] [--broker NAME] [--json]
    ivybt orders cancel-all --yes [--broker NAME] [--json]
    ivybt flatten --yes [--yes-live] [--timeout S] [--broker NAME] [--json]

Every account read is snapshotted into the equity history (brokers.desk). `flatten` turns the kill switch on,
cancels every open order and closes every position at market (brokers.flatten); on a LIVE account it also needs
`--yes-live`. `orders modify` changes a resting order in place (brokers.desk.modify_order: checked before it is
sent, audited). Exit codes: 0 done, 1 not complete (flatten not flat, a cancel failed), 2 bad input or a broker
error (one line on stderr).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from typing import Any

import pandas as pd

from brokers import make_broker
from brokers.base import ORDER_QUERIES, BrokerConfigError
from brokers.desk import (
    SIDES_FILTER,
    account_view,
    cancel_all,
    cancel_order,
    equity_history,
    financing_view,
    modify_order,
    orders_view,
    positions_view,
    preset_targets,
)
from brokers.flatten import flatten
from brokers.registry import BROKER_NAMES
from engine.cli.output import print_json, table_text
from engine.ops.desk import orders_frame


def quiet_ib() -> None:
    """ib_async logs every connection problem itself; the CLI reports errors as one line of its own."""
    for name in ("ib_async", "ib_insync"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", default=None, choices=BROKER_NAMES, help="broker (default $IVYBT_BROKER or paper)")
    p.add_argument("--json", action="store_true")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("positions", help="positions with P&L, weight and drift vs a preset, open orders")
    p.add_argument("--preset", default=None, help="show each symbol's drift from this preset's target weights")
    _common(p)
    p.set_defaults(func=positions_cmd)

    p = sub.add_parser("account", help="account summary (equity, day P&L, exposure) or its equity history")
    _common(p)
    p.set_defaults(func=account_cmd)
    asub = p.add_subparsers(dest="account_cmd", metavar="{history,financing}")
    q = asub.add_parser("history", help="the recorded equity snapshots with drawdown")
    _common(q)
    q.set_defaults(func=history_cmd)
    q = asub.add_parser("financing", help="financing charged by day: borrow fee, margin and cash interest (paper)")
    _common(q)
    q.set_defaults(func=financing_cmd)

    p = sub.add_parser("orders", help="the order blotter: list, cancel one, cancel all, modify one")
    osub = p.add_subparsers(dest="orders_cmd", required=True, metavar="{list,cancel,cancel-all,modify}")
    q = osub.add_parser("list", help="orders by state, symbol, side, time")
    q.add_argument("--status", default="open", choices=ORDER_QUERIES)
    q.add_argument("--symbol", default=None)
    q.add_argument("--side", default=None, choices=SIDES_FILTER)
    q.add_argument("--since", default=None, help="submitted at or after this date / time (UTC)")
    _common(q)
    q.set_defaults(func=orders_list_cmd)
    q = osub.add_parser("cancel", help="cancel one open order (broker id or client_order_id)")
    q.add_argument("order_id")
    _common(q)
    q.set_defaults(func=orders_cancel_cmd)
    q = osub.add_parser("cancel-all", help="cancel every open order")
    q.add_argument("--yes", action="store_true", help="confirm")
    _common(q)
    q.set_defaults(func=orders_cancel_all_cmd)
    q = osub.add_parser("modify", help="change an open order's quantity or prices (broker id or client_order_id)")
    q.add_argument("order_id")
    q.add_argument("--quantity", type=float, default=None, metavar="Q", help="new total quantity (units)")
    q.add_argument("--limit", type=float, default=None, metavar="P", help="new limit price (limit, stop-limit)")
    q.add_argument("--stop", type=float, default=None, metavar="P", help="new stop price (stop, stop-limit)")
    q.add_argument(
        "--trail", type=float, default=None, metavar="X", help="new trail of a trailing stop, in its own unit (% or $)"
    )
    _common(q)
    q.set_defaults(func=orders_modify_cmd)

    p = sub.add_parser("flatten", help="EMERGENCY: kill switch on, cancel all orders, close all positions")
    p.add_argument("--yes", action="store_true", help="confirm")
    p.add_argument("--yes-live", action="store_true", help="confirm on a LIVE account")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the closing fills (default 30)")
    _common(p)
    p.set_defaults(func=flatten_cmd)


def _num(v: Any, fmt: str = ",.2f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return format(v, fmt)


def _pct(v: Any) -> str:
    return _num(None if v is None else v * 100, "+.2f")


def _broker(args: argparse.Namespace) -> Any:
    quiet_ib()
    return make_broker(args.broker)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _summary_line(s: dict[str, Any]) -> str:
    cur = s["currency"]
    day = (
        "n/a (no snapshot of an earlier session)"
        if s["day_pnl"] is None
        else (f"{s['day_pnl']:+,.2f} {cur} ({_pct(s['day_pnl_pct'])} %)")
    )
    return (
        f"{s['broker']} [{'LIVE' if s['live'] else 'PAPER'}] account {s['account_id']}: equity {s['equity']:,.2f} "
        f"{cur}, cash {s['cash']:,.2f}, buying power {s['buying_power']:,.2f}, day P&L {day}, gross "
        f"{s['gross_exposure']:,.2f} / net {s['net_exposure']:,.2f} {cur}, leverage {_num(s['leverage'], '.2f')}x"
    )


def positions_cmd(args: argparse.Namespace) -> int:
    targets = preset_targets(args.preset) if args.preset else None
    broker = _broker(args)
    try:
        summary, frame = positions_view(broker, targets=targets)
    finally:
        broker.close()
    if args.json:
        print_json({"account": summary, "positions": _records(frame)})
        return 0
    print(_summary_line(summary))
    if frame.empty:
        print("no positions")
        return 0
    cur = summary["currency"]
    headers = [
        "symbol", "qty", f"avg cost ({cur})", f"last ({cur})", f"value ({cur})", f"unrealized ({cur})",
        "unrealized %", f"today ({cur})", "weight %", "target %", "drift %", "open orders",
    ]  # fmt: skip
    rows = [
        [
            r.symbol,
            _num(r.quantity, ",.6g"),
            _num(r.avg_cost),
            _num(r.last_price),
            _num(r.market_value),
            _num(r.unrealized_pnl, "+,.2f"),
            _pct(r.unrealized_pct),
            _num(r.today_pnl, "+,.2f"),
            _pct(r.weight),
            _pct(r.target_weight),
            _pct(r.drift),
            r.open_orders,
        ]  # fmt: skip
        for r in frame.itertuples()
    ]
    print(table_text(headers, rows, align_right_from=1))
    return 0


def account_cmd(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        summary = account_view(broker)
    finally:
        broker.close()
    if args.json:
        print_json(summary)
    else:
        print(_summary_line(summary))
    return 0


def history_cmd(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        frame = equity_history(broker)
    finally:
        broker.close()
    for warning in frame.attrs.get("warnings", []):
        print(f"ivybt: warning: {warning}", file=sys.stderr)
    out = frame.reset_index().assign(ts=lambda f: f["ts"].map(lambda t: t.isoformat()))
    if args.json:
        print_json({"broker": broker.name, "history": _records(out)})
        return 0
    headers = ["time (UTC)", "equity", "cash", "gross", "net", "drawdown %", "source"]
    rows = [
        [
            r.ts[:19].replace("T", " "),
            _num(r.equity),
            _num(r.cash),
            _num(r.gross_exposure),
            _num(r.net_exposure),
            _pct(r.drawdown),
            r.source,
        ]  # fmt: skip
        for r in out.itertuples()
    ]
    print(table_text(headers, rows, align_right_from=1))
    return 0


def financing_cmd(args: argparse.Namespace) -> int:
    """The broker's financing ledger (brokers.desk.financing_view): each day's charge per kind and symbol, and the
    totals per kind (paid: borrow_cost, margin_interest; earned: cash_interest)."""
    broker = _broker(args)
    try:
        rows, totals = financing_view(broker)
    finally:
        broker.close()
    if args.json:
        print_json({"broker": broker.name, "ledger": rows, "totals": totals})
        return 0
    if not rows:
        print(f"{broker.name}: no financing charged yet")
        return 0
    headers = ["day", "kind", "symbol", "amount", "basis", "annual rate"]
    body = [
        [r["day"], r["kind"], r["symbol"] or "-", _num(r["amount"]), _num(r["basis"]), f"{r['rate']:.4%}"] for r in rows
    ]
    print(table_text(headers, body, align_right_from=3))
    print("totals: " + ", ".join(f"{kind} {_num(value)}" for kind, value in totals.items()))
    return 0


def _orders_table(frame: pd.DataFrame) -> str:
    headers = ["id", "symbol", "side", "type", "qty", "filled", "avg fill", "limit", "stop", "tif", "status"]
    headers += ["submitted (UTC)", "age (s)"]
    rows = [
        [
            r.id,
            r.symbol,
            r.side,
            r.type,
            _num(r.quantity, ",.6g"),
            _num(r.filled, ",.6g"),
            _num(r.avg_fill_price),
            _num(r.limit_price),
            _num(r.stop_price),
            r.time_in_force or "",
            r.status,
            (r.submitted_at or "")[:19].replace("T", " "),
            _num(r.age_s, ",.0f"),
        ]  # fmt: skip
        for r in frame.itertuples()
    ]
    return table_text(headers, rows)


def orders_list_cmd(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        frame = orders_view(broker, args.status, args.symbol, args.side, args.since)
    finally:
        broker.close()
    if args.json:
        print_json({"orders": _records(frame)})
    elif frame.empty:
        print(f"no {args.status} orders")
    else:
        print(_orders_table(frame))
    return 0


def orders_cancel_cmd(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        after = cancel_order(broker, args.order_id, origin="cli")
    finally:
        broker.close()
    if args.json:
        print_json({"id": after.id, "client_order_id": after.client_order_id, "status": after.status})
    else:
        print(f"order {after.id} ({after.side} {after.quantity:g} {after.symbol}): {after.status}")
    return 0


def orders_modify_cmd(args: argparse.Namespace) -> int:
    broker = _broker(args)
    try:
        after = modify_order(broker, args.order_id, args.quantity, args.limit, args.stop, args.trail, origin="cli")
    finally:
        broker.close()
    if args.json:
        print_json({"order": _records(orders_frame([after]))[0]})
    else:
        print(_orders_table(orders_frame([after])))
    return 0


def orders_cancel_all_cmd(args: argparse.Namespace) -> int:
    if not args.yes:
        raise BrokerConfigError("cancel-all cancels every open order: add --yes to confirm")
    broker = _broker(args)
    try:
        rows = cancel_all(broker, origin="cli")
    finally:
        broker.close()
    failed = [r for r in rows if r["error"]]
    if args.json:
        print_json({"orders": rows})
    else:
        print(f"{len(rows) - len(failed)} order(s) canceled, {len(failed)} failed")
        for r in failed:
            print(f"error: {r['id']} {r['symbol']}: {r['error']}")
    return 1 if failed else 0


def flatten_cmd(args: argparse.Namespace) -> int:
    if not args.yes:
        raise BrokerConfigError(
            "flatten turns the kill switch on, cancels every order and closes every position: add --yes to confirm"
        )
    if args.timeout < 0:
        raise BrokerConfigError(f"--timeout {args.timeout} must be >= 0 seconds")
    broker = _broker(args)
    try:
        if broker.is_live and not args.yes_live:
            raise BrokerConfigError(f"{broker.name} is a LIVE account: add --yes-live to flatten it (nothing was done)")
        report = flatten(broker, timeout=args.timeout, origin="cli")
    finally:
        broker.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
        for e in report.errors:
            print(f"error: {e}")
    return 0 if report.status == "flat" else 1

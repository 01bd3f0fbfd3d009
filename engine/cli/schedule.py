"""`ivybt schedule list|add|edit|remove|enable|disable|run-due`: scheduled daily operations (engine.ops.schedule).

    ivybt schedule add --preset NAME --at 09:35 [--tz America/New_York] [--broker paper] [--mode approve|auto]
    ivybt schedule edit ID [--preset ...] [--at ...] [--tz ...] [--broker ...] [--mode ...]
    ivybt schedule run-due [--now ISO]

Any running `ivybt worker` queues and runs the due schedules; `run-due` does it once, now, in this process (for
cron instead of a worker; `--now` judges what is due at another instant, for tests). It also runs today's run
of a schedule that was queued but not finished (its worker died). Bad input exits 2 with one line; `run-due`
exits 1 when a run failed, was blocked or did not complete.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.batch.jobs import execute_claimed
from engine.batch.kinds import require_kind
from engine.batch.queue import JobQueue, keyed_id, new_worker_id
from engine.cli.options import add_json, add_now
from engine.cli.output import print_json, table_text
from engine.cli.parsing import instant
from engine.ops.schedule import DAYS, Schedule, ScheduleStore, check_mode, due, job_key, next_run, run_date
from engine.ops.signals import MARKET_TZ

KIND = "daily_ops"
PROBLEMS: tuple[str, ...] = ("failed", "blocked", "partial")
"""Run statuses that make `run-due` exit 1."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help=f"scheduled daily operations of presets on {DAYS}")
    ssub = p.add_subparsers(dest="schedule_cmd", required=True, metavar="{list,add,edit,remove,enable,disable,run-due}")
    q = ssub.add_parser("list", help="every schedule with its next and last run")
    add_json(q)
    q.set_defaults(func=schedule_list)
    q = ssub.add_parser("add", help="schedule a preset's daily signals -> plan -> checks -> execute or approve")
    _fields(q, required=True)
    q.add_argument("--disabled", action="store_true", help="add it switched off")
    add_json(q)
    q.set_defaults(func=schedule_add)
    q = ssub.add_parser("edit", help="change a schedule's preset, broker, time, time zone or mode")
    q.add_argument("id", type=int)
    _fields(q, required=False)
    add_json(q)
    q.set_defaults(func=schedule_edit)
    for name, what in (("remove", "delete a schedule"), ("enable", "switch on"), ("disable", "switch off")):
        q = ssub.add_parser(name, help=what)
        q.add_argument("id", type=int)
        q.set_defaults(func=schedule_change, change=name)
    q = ssub.add_parser("run-due", help="queue and run the schedules due now (or at --now) in this process")
    add_now(q)
    add_json(q)
    q.set_defaults(func=schedule_run_due)


def _fields(q: argparse.ArgumentParser, required: bool) -> None:
    q.add_argument("--preset", required=required, help="preset name")
    q.add_argument("--at", required=required, metavar="HH:MM", help="time of day (24-hour clock, in --tz)")
    q.add_argument("--tz", default=MARKET_TZ if required else None, help=f"IANA time zone (default {MARKET_TZ})")
    q.add_argument("--broker", default="paper" if required else None, help="broker name (default paper)")
    q.add_argument("--mode", default="approve" if required else None, help="approve (default) or auto")


def _check_broker(name: str | None) -> None:
    if name is not None:
        check = require_kind(KIND).check
        if check is not None:
            check({"broker": name})


def _row(s: Schedule, now: datetime) -> dict[str, Any]:
    upcoming = next_run(s, now)
    return {**s.to_dict(), "days": DAYS, "due": due(s, now), "next_run": upcoming.isoformat() if upcoming else None}


def _show(s: Schedule, args: argparse.Namespace, verb: str) -> int:
    if args.json:
        print_json(_row(s, datetime.now(UTC)))
    else:
        print(f"{verb} schedule {s.id}: {s.preset} on {s.broker} at {s.at} {s.tz}, mode {s.mode}")
    return 0


def schedule_list(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    rows = [_row(s, now) for s in ScheduleStore().list()]
    if args.json:
        print_json({"schedules": rows})
        return 0
    if not rows:
        print("no schedules (add one with `ivybt schedule add --preset NAME --at HH:MM`)")
        return 0
    cols = ["id", "preset", "broker", "at", "tz", "mode", "enabled", "next_run", "last_run_date", "last_status"]
    print(table_text([c.replace("_", " ") for c in cols], [[_cell(r, c) for c in cols] for r in rows]))
    return 0


def _cell(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if column == "next_run" and value:
        return (
            "due now"
            if row["due"]
            else datetime.fromisoformat(value).astimezone(ZoneInfo(row["tz"])).strftime("%Y-%m-%d %H:%M %Z")
        )
    if column == "enabled":
        return "yes" if value else "no"
    return "" if value is None else str(value)


def schedule_add(args: argparse.Namespace) -> int:
    _check_broker(args.broker)
    s = ScheduleStore().add(args.preset, args.broker, args.at, args.tz, check_mode(args.mode), not args.disabled)
    return _show(s, args, "added")


def schedule_edit(args: argparse.Namespace) -> int:
    _check_broker(args.broker)
    mode = check_mode(args.mode) if args.mode is not None else None
    s = ScheduleStore().edit(args.id, preset=args.preset, broker=args.broker, at=args.at, tz=args.tz, mode=mode)
    return _show(s, args, "changed")


def schedule_change(args: argparse.Namespace) -> int:
    store = ScheduleStore()
    if args.change == "remove":
        store.remove(args.id)
        print(f"removed schedule {args.id}")
        return 0
    s = store.edit(args.id, enabled=args.change == "enable")
    print(f"schedule {s.id} {'enabled' if s.enabled else 'disabled'}")
    return 0


def schedule_run_due(args: argparse.Namespace) -> int:
    now = instant(args.now)
    kind = require_kind(KIND)
    queue = JobQueue()
    if kind.poll is not None:
        kind.poll(queue, now)
    store, worker, ran = ScheduleStore(queue.path), new_worker_id("run-due"), []
    for s in store.list():
        job_id = keyed_id(job_key(s.id, run_date(s, now)))
        claimed = queue.claim(worker, job_id=job_id)  # today's run, queued now or left by a dead worker
        if claimed is None:
            continue
        job_status = execute_claimed(queue, claimed, worker)
        after = store.find(s.id)
        ran.append(
            {
                "schedule": s.id,
                "preset": s.preset,
                "job": job_id,
                "job_status": job_status,
                "status": after.last_status if after else "removed",
                "message": after.last_message if after else "",
            }
        )
    if args.json:
        print_json({"now": now.isoformat(), "runs": ran})
    elif not ran:
        print(f"nothing due at {now.isoformat()}")
    else:
        for r in ran:
            print(
                f"schedule {r['schedule']} ({r['preset']}): {r['status']}"
                + (f": {r['message']}" if r["message"] else "")
            )
    return 1 if any(r["status"] in PROBLEMS or r["job_status"] != "done" for r in ran) else 0

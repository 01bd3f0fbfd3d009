"""`ivybt batch validate|submit|run|status|cancel|retry` and `ivybt worker`: batches from the command line."""

from __future__ import annotations

import argparse
import time
from typing import Any

from engine.batch import load_batch
from engine.batch.estimate import estimate_batch
from engine.batch.queue import JobQueue
from engine.batch.runners import make_runner, run_batch
from engine.batch.worker import run_worker
from engine.cli.options import add_dry_run, add_json, add_user_code_limits
from engine.cli.output import format_metric, print_json, table_text
from engine.cli.parsing import UsageError
from engine.research.estimate import format_duration, remaining_seconds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="validate, queue, run and watch YAML batches of jobs")
    bsub = p.add_subparsers(dest="batch_cmd", required=True, metavar="{validate,submit,run,status,cancel,retry}")
    q = bsub.add_parser("validate", help="check a batch file (errors name the file, line and field)")
    q.add_argument("file")
    add_json(q)
    q.set_defaults(func=batch_validate)
    q = bsub.add_parser("submit", help="queue a batch file's jobs for `ivybt worker` processes")
    q.add_argument("file")
    q.add_argument("--max-attempts", type=int, help="tries per job after lost workers (default 3)")
    add_json(q)
    q.set_defaults(func=batch_submit)
    q = bsub.add_parser("run", help="queue a batch file and run it now on a local process pool or Dask")
    q.add_argument("file")
    q.add_argument("--runner", choices=("local", "dask"), default="local", help="local (default) or dask")
    q.add_argument("--address", metavar="tcp://HOST:PORT", help="Dask scheduler (default: a LocalCluster)")
    q.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    q.add_argument("--timeout", type=float, metavar="S", help="seconds to wait for the --address scheduler (30)")
    q.add_argument("--max-attempts", type=int, help="tries per job after lost workers (default 3)")
    add_json(q)
    add_dry_run(q)
    q.set_defaults(func=batch_run)
    q = bsub.add_parser("status", help="batches and their jobs")
    q.add_argument("--batch", metavar="ID", help="one batch's jobs (id or unique prefix)")
    add_json(q)
    q.set_defaults(func=batch_status)
    q = bsub.add_parser("cancel", help="cancel a job, or every unfinished job of --batch")
    q.add_argument("job", nargs="?")
    q.add_argument("--batch", metavar="ID")
    q.set_defaults(func=batch_cancel)
    q = bsub.add_parser("retry", help="queue failed jobs again (one job, a --batch, or all)")
    q.add_argument("job", nargs="?")
    q.add_argument("--batch", metavar="ID")
    q.set_defaults(func=batch_retry)

    w = sub.add_parser("worker", help="take queued batch jobs from the workspace queue and run them")
    w.add_argument("--once", action="store_true", help="run at most one job, then exit")
    w.add_argument("--exit-when-empty", action="store_true", help="exit when no job is queued")
    w.add_argument("--poll", type=float, default=2.0, metavar="S", help="seconds between looks at an empty queue")
    w.add_argument("--batch", metavar="ID", help="only this batch's jobs")
    w.add_argument("--heartbeat", type=float, metavar="S", help="seconds between heartbeats (IVYBT_HEARTBEAT_S, 5)")
    w.add_argument(
        "--stale-after",
        type=float,
        metavar="S",
        help="seconds without heartbeat before a running job is queued again (IVYBT_STALE_S, 60)",
    )
    w.add_argument("--id", help="worker id (default host:pid:random)")
    add_user_code_limits(w)
    w.set_defaults(func=worker)


def batch_validate(args: argparse.Namespace) -> int:
    batch = load_batch(args.file)
    if args.json:
        print_json({"name": batch.name, "jobs": [j.to_dict() for j in batch.jobs]})
        return 0
    print(f"{args.file}: valid batch {batch.name!r} with {len(batch.jobs)} job(s)")
    rows = [
        [i, j.name, j.kind, j.request.strategy, ",".join(j.request.symbols), j.request.start or "", j.request.end or ""]
        for i, j in enumerate(batch.jobs)
    ]
    print(table_text(["#", "name", "kind", "strategy", "symbols", "start", "end"], rows))
    return 0


def batch_submit(args: argparse.Namespace) -> int:
    batch = load_batch(args.file)
    batch_id = JobQueue().submit(batch, max_attempts=args.max_attempts)
    if args.json:
        print_json({"batch_id": batch_id, "name": batch.name, "jobs": len(batch.jobs)})
    else:
        print(f"queued batch {batch_id} ({batch.name}, {len(batch.jobs)} jobs); run `ivybt worker` to process it")
    return 0


def batch_dry_run(args: argparse.Namespace) -> int:
    """`batch run --dry-run`: every job's size and ETA and the batch's totals; nothing is queued or run."""
    batch = load_batch(args.file)
    est = estimate_batch(batch)
    if args.json:
        print_json({"dry_run": True, **est.to_dict()})
        return 0
    rows = [
        [name, kind, f"{e.total:,}", f"{e.to_run:,}", f"{e.pruned_count:,}", _eta(e.seconds)]
        for name, kind, e in est.jobs
    ]
    print(table_text(["job", "kind", "sets", "to run", "pruned", "ETA"], rows, align_right_from=2))
    for name, _, e in est.jobs:
        for rule, n in e.pruned.items():
            print(f"  {name}: pruned {n:,} sets ({rule})")
    print(
        f"batch {batch.name}: {len(batch.jobs)} jobs, {est.to_run:,} sets to run of {est.total:,} ({est.pruned:,} "
        f"pruned), about {_eta(est.seconds)} one after another; dry run: nothing was queued or run"
    )
    return 0


def _eta(seconds: float | None) -> str:
    return "n/a" if seconds is None else format_duration(seconds)


def batch_run(args: argparse.Namespace) -> int:
    if args.dry_run:
        return batch_dry_run(args)
    batch = load_batch(args.file)
    queue = JobQueue()
    names = {}
    started = time.perf_counter()
    # the runner first: a bad choice or an unreachable scheduler must not leave a queued batch behind
    with make_runner(args.runner, workers=args.workers, address=args.address, timeout=args.timeout) as runner:
        batch_id = queue.submit(batch, max_attempts=args.max_attempts)
        if not args.json:
            print(
                f"running batch {batch_id} ({batch.name}, {len(batch.jobs)} jobs) on {runner.name} with "
                f"{runner.workers} worker(s)"
            )
            names = dict(zip(queue.jobs(batch_id)["id"], queue.jobs(batch_id)["name"]))
        # every worker loads what the jobs need (numba's kernels, plotly, each strategy) once, side by side,
        # before the first job: not inside its first jobs, one worker after the other (engine.batch.warm)
        runner.warm_up(batch.jobs)

        ended: list[str] = []

        def event(job_id: str, status: str) -> None:
            if status in ("done", "failed", "lost"):
                ended.append(job_id)
            if not args.json:
                left = remaining_seconds(len(ended), len(batch.jobs), time.perf_counter() - started)
                eta = f", about {format_duration(left)} left" if left else ""
                print(f"  {status:<6} {names.get(job_id, job_id)} ({len(ended)} of {len(batch.jobs)}{eta})", flush=True)

        counts = run_batch(queue, batch_id, runner, on_event=event)
    elapsed = time.perf_counter() - started
    if args.json:
        print_json({"batch_id": batch_id, "counts": counts, "elapsed": elapsed, "jobs": _job_rows(queue, batch_id)})
    else:
        print(f"batch {batch_id}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" in {elapsed:.1f}s")
        _print_jobs(queue, batch_id)
    return 0 if counts["failed"] == 0 else 1


def batch_status(args: argparse.Namespace) -> int:
    queue = JobQueue()
    if args.batch:
        batch_id = queue.batch_id(args.batch)
        if args.json:
            print_json({"batch_id": batch_id, "counts": queue.counts(batch_id), "jobs": _job_rows(queue, batch_id)})
        else:
            _print_jobs(queue, batch_id)
        return 0
    batches = queue.batches()
    if args.json:
        print_json({"batches": batches.drop(columns=["created_at"]).to_dict(orient="records")})
        return 0
    if batches.empty:
        print("no batches (queue one with `ivybt batch submit FILE`)")
        return 0
    rows = [
        [b.id, b.submitted, b.name, b.n_jobs, b.queued, b.running, b.done, b.failed, b.cancelled]
        for b in batches.itertuples()
    ]
    print(
        table_text(
            ["batch", "submitted (UTC)", "name", "jobs", "queued", "running", "done", "failed", "cancelled"], rows
        )
    )
    return 0


def batch_cancel(args: argparse.Namespace) -> int:
    queue = JobQueue()
    if args.batch:
        print(f"cancelled {queue.cancel_batch(queue.batch_id(args.batch))} job(s)")
    elif args.job:
        print(f"cancelled job {args.job}" if queue.cancel(args.job) else f"job {args.job} was already finished")
    else:
        raise UsageError("batch cancel: give a JOB id or --batch ID")
    return 0


def batch_retry(args: argparse.Namespace) -> int:
    queue = JobQueue()
    if args.job:
        n = int(queue.retry(args.job))
    else:
        n = queue.retry_failed(queue.batch_id(args.batch) if args.batch else None)
    print(f"queued {n} job(s) again")
    return 0


def worker(args: argparse.Namespace) -> int:
    queue = JobQueue(stale_after=args.stale_after)
    batch_id = queue.batch_id(args.batch) if args.batch else None
    n = run_worker(
        queue=queue,
        worker_id=args.id,
        poll=args.poll,
        once=args.once,
        exit_when_empty=args.exit_when_empty,
        batch_id=batch_id,
        heartbeat=args.heartbeat,
        on_event=lambda job_id, status: print(f"{status:<6} job {job_id}", flush=True),
    )
    print(f"worker exiting after {n} job(s)")
    return 0


def _job_rows(queue: JobQueue, batch_id: str) -> list[dict[str, Any]]:
    df = queue.jobs(batch_id).drop(columns=["traceback"])
    return df.to_dict(orient="records")


def _print_jobs(queue: JobQueue, batch_id: str) -> None:
    df = queue.jobs(batch_id)
    rows = []
    for j in df.itertuples():
        value = "" if _missing(j.objective) else format_metric(j.objective_name, j.objective)
        rows.append(
            [
                j.id,
                j.name,
                j.kind,
                j.state,
                f"{100 * j.progress:.0f}%",
                "" if _missing(j.duration) else f"{j.duration:.1f}s",
                _text(j.worker),
                _text(j.run_id),
                f"{_text(j.objective_name)} {value}".strip(),
                (_text(j.error) or _text(j.message))[:80],
            ]
        )
    print(
        table_text(
            ["job", "name", "kind", "status", "progress", "duration", "worker", "run", "objective", "error / note"],
            rows,
        )
    )


def _missing(value: Any) -> bool:
    """True for None and NaN (what pandas leaves in an empty cell of the jobs table)."""
    return value is None or (isinstance(value, float) and value != value)


def _text(value: Any) -> str:
    """A table cell as text: "" for a missing value (None or NaN)."""
    return "" if _missing(value) else str(value)

"""Run one batch job and record it: compute (pure, any process) -> save to the run store -> mark done.

`compute_job` needs no database: a process-pool worker or a Dask worker runs it and returns a picklable
`JobOutput`. `record_job` saves the output in the run store (as one run named `<job name> [job <id>]`) and
marks the job done, fenced by the worker id; `execute_claimed` is both, with a heartbeat thread, for the
`ivybt worker` loop. What each kind saves as its run:
- backtest: the backtest. montecarlo: the backtest (kind "backtest"), the resampling statistics in the
  job's summary.
- optimize: the backtest of the best parameter set (kind "optimize"); the top trials in the summary.
- walkforward: the backtest over the whole range with the parameters chosen in the last window that found a
  feasible set (what one would trade next; kind "walkforward"); the stitched out-of-sample metrics,
  efficiency and the windows in the summary.
Exactly once: a retry of a job whose earlier attempt saved its run but died before marking it done finds
that run by name and marks the job done with it instead of running it again; a call a runner computes again
(Dask resubmits the tasks of a lost worker) records into that run instead of saving a second one.
"""

from __future__ import annotations

import functools
import math
import os
import socket
import threading
import traceback
from collections.abc import Callable
from typing import Any

import pandas as pd

from engine.batch.kinds import JobKind, JobRun, job_kind
from engine.batch.output import JobOutput
from engine.batch.queue import ClaimedJob, JobQueue, heartbeat_interval
from engine.batch.spec import JobSpec
from engine.errors import EngineError
from engine.metrics import registry
from engine.request import run_request
from engine.research.montecarlo import MonteCarloSpec, run_montecarlo
from engine.research.optimize import OptimizeSpec, run_optimization
from engine.research.walkforward import WalkForwardResult, WalkForwardSpec, run_walkforward
from engine.sim.result import BacktestResult
from engine.store.jsonable import plain
from engine.store.runs import RunStore
from engine.store.sqlite import connect
from engine.strategies.sandbox import stop_when

Progress = Callable[[float, str | None], None]
SUMMARY_METRICS: tuple[str, ...] = registry.BATCH_SUMMARY


class JobCancelled(EngineError):
    """The job was cancelled (or taken over) while it ran."""


def executor_id() -> str:
    """host:pid of the process computing a job (shown as the job's worker)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _silent(fraction: float, message: str | None = None) -> None:
    """The progress report of a caller that wants none."""


def compute_job(
    spec: JobSpec, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None
) -> JobOutput:
    """Run `spec` and return its output (raises EngineError on bad input, JobCancelled when stopped)."""
    report: Progress = progress or _silent
    report(0.0, f"{spec.kind}: loading data")
    if spec.kind == "backtest":
        out = _backtest(spec)
    elif spec.kind == "montecarlo":
        out = _montecarlo(spec)
    elif spec.kind == "optimize":
        out = _optimize(spec, report, should_stop)
    elif spec.kind == "walkforward":
        out = _walkforward(spec, report, should_stop)
    else:
        raise EngineError(f"job {spec.name!r}: unknown kind {spec.kind!r}")
    out.summary.setdefault("metrics", {m: _num(out.result.metrics.get(m)) for m in SUMMARY_METRICS})
    out.summary.setdefault("params", dict(out.result.params))
    out.executor = executor_id()
    _materialize(out.result)
    report(1.0, "done")
    return out


def _materialize(result: BacktestResult) -> None:
    """Read every field once, so fields built lazily on first access become plain values (picklable: the
    output travels back from a pool process or a Dask worker)."""
    for name in BacktestResult.FIELDS:
        getattr(result, name)


def compute_job_safe(spec_dict: dict[str, Any]) -> tuple[str, Any, str | None]:
    """`compute_job` for remote runners: ("ok", JobOutput, None) or ("error", "Type: message", traceback).

    Takes the spec as a plain dict (small to ship) and never raises, so a failing job travels back as data
    with its traceback instead of as an exception the client would have to unpickle.
    """
    try:
        return "ok", compute_job(JobSpec.from_dict(spec_dict)), None
    except Exception as e:  # the job's error is data to record, not a crash of the runner
        return "error", f"{type(e).__name__}: {e}", traceback.format_exc()


def run_job_task(spec_dict: dict[str, Any], job_id: str, worker: str, db: str) -> tuple[str, Any, str | None]:
    """Mark the job started, compute it and record it in the database at `db` (for runners whose processes
    share this machine's workspace): ("recorded", "done" | "failed" | "lost", None) once the job's end is in
    the queue ("failed": saving raised; "lost": cancelled or taken over meanwhile), or ("error", "Type:
    message", traceback) when computing raised. Recording in the worker process keeps the driver free; marking
    the start here keeps a job's wait for a free process out of its duration."""
    spec = JobSpec.from_dict(spec_dict)
    queue, store = _worker_stores(db)
    if not queue.start(job_id, worker, executor_id()):  # cancelled (or taken over) while it waited
        return "recorded", "lost", None
    try:
        output = compute_job(spec)
    except Exception as e:  # the job's error is data to record, not a crash of the runner
        return "error", f"{type(e).__name__}: {e}", traceback.format_exc()
    return "recorded", record_or_fail(queue, job_id, worker, spec, output, store), None


@functools.lru_cache(maxsize=8)
def _worker_stores(db: str) -> tuple[JobQueue, RunStore]:
    """The queue and run store at `db`, made once per worker process: making them checks both schemas (~0.8 ms
    a job), which the driver (`run_batch`) did before it sent the job. They hold a path, not a connection."""
    return JobQueue(db), results_store(db)


def run_job_chunk(items: list[tuple[dict[str, Any], str]], worker: str, db: str) -> list[tuple[str, Any, str | None]]:
    """`run_job_task` for each (spec dict, job id) in turn, their outcomes in order: one task for several jobs
    (a scheduler's per-task cost paid once). Each job is marked started, recorded and ended on its own, so a
    process killed mid-chunk loses only the job it was computing; a chunk computed again (Dask recomputes the
    tasks of a lost worker) skips the jobs that already ended."""
    queue = _worker_stores(db)[0]
    out: list[tuple[str, Any, str | None]] = []
    for spec_dict, job_id in items:
        status = queue.get(job_id)["status"]
        out.append(
            ("recorded", status, None) if status in ("done", "failed") else run_job_task(spec_dict, job_id, worker, db)
        )
    return out


def _backtest(spec: JobSpec) -> JobOutput:
    result = run_request(spec.request)
    return JobOutput(result, spec.request, "backtest", spec.objective, _num(result.metrics.get(spec.objective)))


def _montecarlo(spec: JobSpec) -> JobOutput:
    out = _backtest(spec)
    mc = run_montecarlo(out.result, MonteCarloSpec.from_dict(spec.montecarlo))
    out.summary["montecarlo"] = {
        "percentiles": _records(mc.percentiles),
        "prob_loss_beyond": mc.prob_loss_beyond,
        "summary": plain(mc.summary),
        "spec": mc.spec.to_dict(),
    }
    return out


def optimize_spec(spec: JobSpec) -> OptimizeSpec:
    req = spec.request
    values = dict(spec.optimize)
    values.setdefault("objective", spec.objective)
    values.setdefault("maximize", spec.higher_is_better())  # the search and the batch summary agree
    ranges = values.get("ranges")
    fixed = {k: v for k, v in req.params.items() if not ranges or k not in ranges}
    return OptimizeSpec(
        strategy=req.strategy,
        symbols=req.symbols,
        start=req.start,
        end=req.end,
        config=req.config,
        fixed=fixed,
        data_source=req.data_source,
        **values,
    )


def _optimize(spec: JobSpec, report: Progress, should_stop: Callable[[], bool] | None) -> JobOutput:
    opt_spec = optimize_spec(spec)
    opt = run_optimization(
        opt_spec, progress=lambda done, total: report(0.95 * done / max(total, 1), None), should_stop=should_stop
    )
    if should_stop and should_stop():
        raise JobCancelled(f"job {spec.name!r} was cancelled")
    request = opt.best_request()
    result = run_request(request)
    top = opt.table.head(10)
    summary = {
        "optimize": {
            "best_params": plain(opt.best_params),
            "n_trials": int(len(opt.table)),
            "n_feasible": int(opt.n_feasible),
            "elapsed": float(opt.elapsed),
            "objective": opt_spec.objective,
            "top": _records(top.reset_index(names="trial")),
        }
    }
    objective = _num(opt.best_metrics.get(opt_spec.objective))
    return JobOutput(result, request, "optimize", opt_spec.objective, objective, summary)


def _walkforward(spec: JobSpec, report: Progress, should_stop: Callable[[], bool] | None) -> JobOutput:
    opt_spec = optimize_spec(spec)
    wf_spec = WalkForwardSpec(optimize=opt_spec, **dict(spec.walkforward))
    wf = run_walkforward(
        wf_spec, progress=lambda done, total: report(0.95 * done / max(total, 1), None), should_stop=should_stop
    )
    if should_stop and should_stop():
        raise JobCancelled(f"job {spec.name!r} was cancelled")
    window, chosen = _latest_feasible(spec, wf)
    request = spec.request.with_changes(params={**spec.request.params, **chosen})
    result = run_request(request)
    objective = _num(wf.oos_metrics.get(opt_spec.objective))
    summary = {
        "walkforward": {
            "efficiency": _num(wf.efficiency),
            "oos_metrics": plain(wf.oos_metrics),
            "windows": _records(wf.windows),
            "latest_params": chosen,
            "latest_params_window": window,
        },
        "objective_source": "stitched out-of-sample equity",
    }
    return JobOutput(result, request, "walkforward", opt_spec.objective, objective, summary)


def _latest_feasible(spec: JobSpec, wf: WalkForwardResult) -> tuple[int, dict[str, Any]]:
    """(window number, parameter set) of the last walk-forward window that found a feasible set: what one
    would trade next. EngineError when no window did."""
    numbers = list(wf.windows["window"])
    for number, chosen in zip(reversed(numbers), reversed(wf.chosen)):
        if chosen:
            return int(number), plain(dict(chosen))
    raise EngineError(
        f"walk-forward job {spec.name!r}: none of the {len(numbers)} windows found a feasible "
        f"parameter set (relax optimize.min_trades or optimize.constraints)"
    )


# --- recording -------------------------------------------------------------------------------------------


def run_name(spec: JobSpec, job_id: str) -> str:
    """The saved run's name: the job's name and id (how a retry finds a run its earlier attempt saved)."""
    return f"{spec.name} [job {job_id}]"


def find_job_run(store: RunStore, job_id: str) -> str | None:
    """The id of a run already saved for `job_id` (by an attempt that died before marking the job done)."""
    conn = connect(store.path)
    try:
        row = conn.execute(
            "SELECT id FROM runs WHERE name LIKE ? ORDER BY created_at LIMIT 1", (f"% [job {job_id}]",)
        ).fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def results_store(path: str | os.PathLike[str]) -> RunStore:
    """The run store batch jobs save into: not durable (`RunStore(durable=False)`), as the queue itself, since a
    job whose saved run a power cut rolls back has its end rolled back too and runs again."""
    return RunStore(path, durable=False)


def record_job(
    queue: JobQueue, job_id: str, worker: str, spec: JobSpec, output: JobOutput, store: RunStore | None = None
) -> str | None:
    """Save `output` as a run and mark the job done; returns the run id, or None if the worker lost the job
    meanwhile (cancelled or taken over: the run is not kept). Artifacts are written first when asked for."""
    store = store or results_store(queue.path)
    summary = {
        **output.summary,
        "executor": output.executor,
        "objective_name": output.objective_name,
        "objective": output.objective,
    }
    if spec.artifacts:
        from engine.batch.artifacts import write_artifacts  # imports plotly: only when artifacts are asked for

        summary["artifacts"] = write_artifacts(job_id, spec, output)
    if not queue.save_summary(job_id, worker, summary):
        return None
    # a runner that computes a call again after its process died (Dask) may find the run the first one saved
    run_id = find_job_run(store, job_id) or store.save(
        output.result, output.request, kind=output.run_kind, name=run_name(spec, job_id)
    )
    if not queue.finish(
        job_id, worker, run_id, output.objective_name, output.objective, summary, executor=output.executor or None
    ):
        store.delete(run_id)
        return None
    return run_id


def record_or_fail(queue: JobQueue, job_id: str, worker: str, spec: JobSpec, output: JobOutput, store: RunStore) -> str:
    """`record_job`, or when writing artifacts or saving raises, fail the job with that error and traceback
    (a run saved meanwhile is deleted). Returns "done", "failed" or "lost" (the worker no longer owns it)."""
    try:
        run_id = record_job(queue, job_id, worker, spec, output, store)
    except Exception as e:  # a job that cannot be saved fails; the worker goes on with the next job
        tb = traceback.format_exc()
        _discard_run(store, job_id)
        ok = queue.fail(job_id, worker, f"saving the result failed: {type(e).__name__}: {e}", tb)
        return "failed" if ok else "lost"
    return "done" if run_id else "lost"


def _discard_run(store: RunStore, job_id: str) -> None:
    """Delete the run a failed recording of `job_id` may have saved (so a retry saves exactly one)."""
    try:
        run_id = find_job_run(store, job_id)
        if run_id is not None:
            store.delete(run_id)
    except Exception:  # the store itself is failing: the job is failed anyway; a retry finds the run by name
        pass


def recover_saved(queue: JobQueue, claimed: ClaimedJob, worker: str, store: RunStore) -> str | None:
    """If an earlier attempt of `claimed` saved its run, mark the job done with it; returns that run id."""
    if claimed.attempt <= 1 or not claimed.summary:
        return None
    run_id = find_job_run(store, claimed.id)
    if run_id is None:
        return None
    s = claimed.summary
    ok = queue.finish(
        claimed.id,
        worker,
        run_id,
        str(s.get("objective_name") or claimed.spec.objective),
        s.get("objective"),
        s,
        executor=s.get("executor"),
    )
    return run_id if ok else None


class Heartbeat:
    """A thread that refreshes a running job's heartbeat (with the latest progress) every `interval` s.

    `lost` is set when the queue says the worker no longer owns the job (cancelled or taken over).
    """

    def __init__(self, queue: JobQueue, job_id: str, worker: str, interval: float | None = None) -> None:
        self.queue, self.job_id, self.worker = queue, job_id, worker
        self.interval = float(interval if interval is not None else heartbeat_interval())
        self.progress: float | None = None
        self.message: str | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{job_id}", daemon=True)

    def update(self, fraction: float, message: str | None = None) -> None:
        self.progress = fraction
        if message is not None:
            self.message = message

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.queue.heartbeat(self.job_id, self.worker, self.progress, self.message):
                self.lost.set()
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        self._user_code = stop_when(self.lost.is_set)  # cancelled: a user strategy's sandbox child is killed
        self._user_code.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._user_code.__exit__(None, None, None)
        self._stop.set()
        self._thread.join()


def execute_claimed(
    queue: JobQueue, claimed: ClaimedJob, worker: str, *, store: RunStore | None = None, heartbeat: float | None = None
) -> str:
    """Run a claimed job in this process with a heartbeat; returns its final status for this worker:
    "done", "failed" or "lost" (cancelled or taken over while it ran). A plugin kind (engine.batch.kinds) runs
    its own `run` and saves no run."""
    plugin = job_kind(claimed.spec.kind)
    if plugin is not None:
        return _execute_plugin(queue, claimed, worker, plugin, heartbeat)
    store = store or results_store(queue.path)
    if recover_saved(queue, claimed, worker, store):
        return "done"
    with Heartbeat(queue, claimed.id, worker, heartbeat) as beat:
        try:
            output = compute_job(claimed.spec, beat.update, beat.lost.is_set)
        except JobCancelled:
            return "lost"
        except Exception as e:  # any error of the job is recorded; the worker goes on with the next job
            if beat.lost.is_set():
                return "lost"
            ok = queue.fail(claimed.id, worker, f"{type(e).__name__}: {e}", traceback.format_exc())
            return "failed" if ok else "lost"
        if beat.lost.is_set():
            return "lost"
        return record_or_fail(queue, claimed.id, worker, claimed.spec, output, store)


def _execute_plugin(queue: JobQueue, claimed: ClaimedJob, worker: str, kind: JobKind, heartbeat: float | None) -> str:
    """`kind.run` with a heartbeat, then done with its summary (or failed with its error and traceback)."""
    with Heartbeat(queue, claimed.id, worker, heartbeat) as beat:
        try:
            summary = kind.run(JobRun(queue, claimed, worker, beat.update))
        except Exception as e:  # any error of the job is recorded; the worker goes on with the next job
            if beat.lost.is_set():
                return "lost"
            ok = queue.fail(claimed.id, worker, f"{type(e).__name__}: {e}", traceback.format_exc())
            return "failed" if ok else "lost"
    summary = {**summary, "executor": executor_id()}
    return "done" if queue.finish(claimed.id, worker, None, "", None, summary, executor=executor_id()) else "lost"


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of `frame` as JSON-ready dicts (a meaningful index becomes a column)."""
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return [plain(r, nat="NaT") for r in frame.to_dict(orient="records")]

"""Runners: where a batch's jobs compute. One interface, two back ends, the same numbers.

`LocalRunner(workers=cores)`: an `engine.research.pool.ProcessPool` (spawned processes, so nothing of the
parent's threads or locks is inherited). `DaskRunner(address=None)`: a `distributed.Client` at a
scheduler address, or a `LocalCluster` on 127.0.0.1 (processes, one thread each) when none is given.

Both run the same functions on a job's spec, so the numbers cannot depend on the runner. `run_batch` (the
driver, in the submitting process) claims jobs from the queue and keeps their heartbeats while they
compute. Where the worker processes share this machine's workspace (the local pool, a LocalCluster) each
worker also saves its result and marks the job done (`run_job_task`: the driver never becomes the
bottleneck); workers of a remote cluster only compute (`compute_job_safe`) and the driver records the
outputs they send back, so they need the code and the data but not the database.

Faults cost one job, never the batch. A pool process that dies (killed, out of memory) fails only the call it
was running (`engine.research.pool.WorkerLost`); the driver gives that job back (`JobQueue.lost`: queued again
while it has attempts left, else failed with "worker lost"), claims it again and the pool starts a new
process; the other jobs run on. Dask's scheduler recomputes the tasks of a lost worker by itself; when it gives
up (`KilledWorker`) the job is given back the same way. If the driver dies, its pool processes die with it
(`engine.research.parent_watch`), its jobs' heartbeats stop and an `ivybt worker` (or the next `run_batch`)
takes them up again.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.batch.jobs import (
    compute_job_safe,
    record_or_fail,
    recover_saved,
    results_store,
    run_job_chunk,
    run_job_task,
)
from engine.batch.queue import ClaimedJob, JobQueue, heartbeat_interval, new_worker_id
from engine.batch.spec import JobSpec
from engine.batch.warm import needs_of, warm_process
from engine.errors import ConfigError, EngineError
from engine.research.pool import ProcessPool, WorkerLost
from engine.store.runs import RunStore
from engine.store.sqlite import kept_open

RUNNERS: tuple[str, ...] = ("local", "dask")
DEFAULT_CONNECT_TIMEOUT = 30.0  # seconds to wait for a Dask scheduler at an address
CHUNKS_PER_WORKER = 2  # Dask: a batch goes out as about this many tasks per worker (the last ones balance)
MAX_CHUNK = 8  # Dask: jobs in one task at most
LOCAL_WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
}
"""The LocalCluster's workers as this machine's pool processes run: without Dask's statistical profiler and GIL
monitor (threads sampling every 1-10 ms) and without its MALLOC_TRIM_THRESHOLD_ of 64 KiB (every larger free
handed back to the OS, paid again on the next allocation): measured, a 16-job batch took ~1.7 s on one Dask
worker with Dask's defaults, ~1.35 s with these, ~1.2 s on the local pool. The event-loop tick (a check that the
loop is not blocked, every 20 ms) and each worker's memory check (every 100 ms) run every second instead: an idle
2-worker LocalCluster then takes 1.4 % of a core instead of 5.8-6.8 % (the scheduler runs in this process, beside
the workers). Results do not depend on them."""


class Runner(ABC):
    """Computes job specs (or any plain call) somewhere; `submit` / `submit_call` return a future, `wait_any`
    blocks until one is done. A runner is an `engine.research.pool.CallRunner`, so walk-forward windows run
    on it too."""

    name: str = "runner"
    workers: int = 1

    @property
    def capacity(self) -> int:
        """Jobs kept in flight: two per worker where workers record and mark their own start (so a worker
        never waits for the driver), else one per worker (the driver marks a job started as it submits it)."""
        return 2 * self.workers if self.records_in_workers else self.workers

    records_in_workers: bool = False
    """True when worker processes share this machine's workspace and save results themselves."""

    lost_errors: tuple[type[BaseException], ...] = (WorkerLost,)
    """What a future raises when the process computing it died (the job is given back, not failed)."""

    @abstractmethod
    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(*args) on a worker (fn and args must pickle); returns its future."""

    def submit(self, spec: JobSpec, job_id: str = "", worker: str = "", db: str = "") -> Any:
        """Compute the job `spec` on a worker; where workers share the workspace (and `db` is given) the
        worker also records it (`run_job_task`), else it only computes (`compute_job_safe`)."""
        if self.records_in_workers and db:
            return self.submit_call(run_job_task, spec.to_dict(), job_id, worker, db)
        return self.submit_call(compute_job_safe, spec.to_dict())

    def chunk_size(self, queued: int) -> int:
        """Jobs sent to a worker as one task when `queued` jobs wait: 1 (one task per job) unless the runner's
        per-task cost is worth amortising (`DaskRunner`)."""
        return 1

    def submit_chunk(self, jobs: list[ClaimedJob], worker: str, db: str) -> Any:
        """Compute and record `jobs` in turn as one task (`run_job_chunk`); its result lists their outcomes."""
        return self.submit_call(run_job_chunk, [(j.spec.to_dict(), j.id) for j in jobs], worker, db)

    @abstractmethod
    def warm_up(self, specs: Iterable[JobSpec] = ()) -> None:
        """Start every worker process and warm it (`engine.batch.warm.warm_process`): the engine and numba's
        compiled kernels, and what the jobs `specs` need (plotly for artifacts, each strategy's kernels)."""

    @abstractmethod
    def wait_any(self, futures: Iterable[Any]) -> set[Any]: ...

    def outcome(self, future: Any) -> tuple[str, Any, str | None]:
        """("ok", JobOutput, None), ("recorded", status, None), ("error", message, traceback) or ("lost",
        message, None) (the process computing it died) of a finished future."""
        try:
            return future.result()
        except self.lost_errors as e:
            return "lost", f"runner {self.name}: {type(e).__name__}: {e}", None
        except Exception as e:  # the runner itself failed (cluster gone): record it on the job
            return "error", f"runner {self.name} lost the job: {type(e).__name__}: {e}", None

    def cancel(self, future: Any) -> None:
        future.cancel()

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalRunner(Runner):
    """A pool of `workers` spawned processes on this machine (default: one per core), each warmed as it starts
    (`warm_process`: a process replacing a dead one too), so they load the engine and kernels once."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _workers(workers)
        self._pool = ProcessPool(self.workers, initializer=warm_process)

    records_in_workers = True

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._pool.submit_call(fn, *args)

    def warm_up(self, specs: Iterable[JobSpec] = ()) -> None:
        needs = needs_of(specs)
        for _ in range(3):  # each task holds its process a moment, so the tasks land on distinct processes
            pids = {f.result() for f in [self.submit_call(warm_process, 0.5, needs) for _ in range(self.workers)]}
            if len(pids) == self.workers:
                return

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        return self._pool.wait_any(futures)

    def close(self) -> None:
        self._pool.close()


class DaskRunner(Runner):
    """A Dask cluster: `distributed.Client(address)`, or a `LocalCluster` on 127.0.0.1 with `workers`
    single-threaded worker processes when no address is given (closed again by `close`)."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        *,
        shared_workspace: bool | None = None,
        timeout: float | None = None,
    ) -> None:
        import dask
        from distributed import Client, LocalCluster  # ~0.6 s to import: only when a Dask runner is made
        from distributed.scheduler import KilledWorker

        self.lost_errors = (WorkerLost, KilledWorker)
        self._cluster = None
        # a LocalCluster shares this machine's workspace; remote workers hand results back by default
        self.records_in_workers = (address is None) if shared_workspace is None else bool(shared_workspace)
        if address:
            self._client = _connect(address, DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout)
            n = len(self._client.scheduler_info().get("workers", {}))
            self.workers = max(1, n)
        else:
            self.workers = _workers(workers)
            with dask.config.set(LOCAL_WORKER_CONFIG):  # read by each nanny and handed to its worker
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            self._client = Client(self._cluster)
        self.address = self._client.scheduler.address
        self._warm_plugin(())  # every worker warm, a worker that joins later too (engine.batch.dask_warm)

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def chunk_size(self, queued: int) -> int:
        """Workers that record their own jobs get them in chunks, about CHUNKS_PER_WORKER per worker and at
        most MAX_CHUNK jobs each: each Dask task costs the driver's scheduler and client ~8 ms of CPU and the
        worker a few more (measured on 16 jobs of ~65 ms); a killed worker still loses only its running job.
        Two per worker, not three: on the shipped batch, batches alternated with the local pool's (9 rounds,
        twice), Dask / local read 0.97-1.01 at two workers with chunks of 4 jobs, 1.02-1.26 with chunks of 2,
        and 1.00 against 1.10 at one worker (chunks of 8 against 5)."""
        if not self.records_in_workers:
            return 1
        return max(1, min(MAX_CHUNK, queued // (CHUNKS_PER_WORKER * self.workers)))

    def warm_up(self, specs: Iterable[JobSpec] = ()) -> None:
        self._warm_plugin(needs_of(specs))

    def _warm_plugin(self, needs: tuple[str, ...]) -> None:
        """Register (or replace) the cluster's `WarmWorkers` plugin: it warms every worker with `needs` now
        (returns when they are warm) and each worker that joins later."""
        from engine.batch.dask_warm import WarmWorkers  # imports distributed: only for a Dask runner

        self._client.register_plugin(WarmWorkers(needs))

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        from distributed import wait as dask_wait  # lazy: see __init__
        from distributed.client import FuturesCancelledError

        futures = list(futures)
        try:
            return set(dask_wait(futures, return_when="FIRST_COMPLETED").done)
        except FuturesCancelledError:  # a cancelled job counts as finished (the driver records it as lost)
            return {f for f in futures if f.cancelled() or f.done()}

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _connect(address: str, timeout: float) -> Any:
    """A `distributed.Client` at `address`; EngineError naming the address when no scheduler answers."""
    from distributed import Client  # lazy: ~0.6 s to import, only for a Dask runner

    if timeout <= 0:
        raise ConfigError(f"dask runner: the connect timeout must be > 0 seconds, got {timeout}")
    try:
        return Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError, ValueError) as e:
        raise EngineError(f"dask runner: no scheduler reachable at {address!r} within {timeout:g}s: {e}") from None


def make_runner(
    name: str = "local", *, workers: int | None = None, address: str | None = None, timeout: float | None = None
) -> Runner:
    """ "local" -> LocalRunner(workers); "dask" -> DaskRunner(address, workers). Raises ConfigError for a bad
    choice and EngineError for an unreachable scheduler (timeout: seconds to wait for it, default 30)."""
    if name == "local":
        if address:
            raise ConfigError("runner local: --address is for the dask runner")
        return LocalRunner(workers)
    if name == "dask":
        return DaskRunner(address, workers, timeout=timeout)
    raise ConfigError(f"runner {name!r} is not one of {RUNNERS}")


def run_batch(
    queue: JobQueue,
    batch_id: str,
    runner: Runner,
    *,
    worker: str | None = None,
    store: RunStore | None = None,
    heartbeat: float | None = None,
    on_event: Callable[[str, str], None] | None = None,
) -> dict[str, int]:
    """Run every queued job of `batch_id` on `runner`, recording each result; returns the job counts by status.

    A failing job is recorded as failed (error and traceback) and the others go on. A job whose process died
    goes back to the queue while it has attempts left and is claimed again. on_event(job_id, status) is called
    as each job ends ("done", "failed" or "lost") or goes round again ("retry").
    """
    worker = worker or new_worker_id(f"{runner.name}-driver")
    store = store or results_store(queue.path)
    in_flight: dict[Any, list[ClaimedJob]] = {}
    lock = threading.Lock()
    beats = _DriverHeartbeat(queue, worker, in_flight, lock, runner, heartbeat)
    notify = on_event or (lambda job_id, status: None)
    chunk = runner.chunk_size(queue.counts(batch_id).get("queued", 0))
    with kept_open(queue.path), beats:  # engine.store.sqlite.kept_open: no checkpoint per queue update
        while True:
            while sum(map(len, in_flight.values())) < runner.capacity * chunk:
                jobs = _claim(queue, batch_id, worker, store, runner, chunk, notify)
                if not jobs:
                    break
                try:
                    if chunk > 1:
                        future = runner.submit_chunk(jobs, worker, str(queue.path))
                    else:
                        future = runner.submit(jobs[0].spec, jobs[0].id, worker, str(queue.path))
                except Exception as e:  # the runner is broken (pool died, cluster gone): give the jobs back
                    for claimed in jobs:
                        queue.release(claimed.id, worker, f"runner {runner.name} failed: {type(e).__name__}: {e}")
                    raise EngineError(f"runner {runner.name} cannot take jobs any more: {e}") from e
                with lock:
                    in_flight[future] = jobs
            if not in_flight:
                break
            for future in runner.wait_any(list(in_flight)):
                with lock:
                    jobs = in_flight.pop(future)
                if future.cancelled():
                    for claimed in jobs:
                        notify(claimed.id, "lost")
                    continue
                outcome = runner.outcome(future)
                outcomes = outcome if chunk > 1 and isinstance(outcome, list) else [outcome] * len(jobs)
                for claimed, (status, payload, tb) in zip(jobs, outcomes):
                    notify(claimed.id, _settle(queue, claimed, worker, store, status, payload, tb, len(jobs) > 1))
    return queue.counts(batch_id)


def _claim(
    queue: JobQueue,
    batch_id: str,
    worker: str,
    store: RunStore,
    runner: Runner,
    n: int,
    notify: Callable[[str, str], None],
) -> list[ClaimedJob]:
    """Up to `n` queued jobs of the batch claimed for `worker` (a job an earlier attempt saved is marked done
    instead and not returned); empty when none is queued."""
    jobs: list[ClaimedJob] = []
    # where workers record, the pool process marks the start when it begins the job; else it starts now
    in_workers = runner.records_in_workers
    note = f"waiting for a free {runner.name} worker" if in_workers else f"running on the {runner.name} runner"
    while len(jobs) < n:
        claimed = queue.claim(worker, batch_id=batch_id, started=not in_workers, message=note)
        if claimed is None:
            break
        if recover_saved(queue, claimed, worker, store):
            notify(claimed.id, "done")
            continue
        jobs.append(claimed)
    return jobs


def _settle(
    queue: JobQueue,
    claimed: ClaimedJob,
    worker: str,
    store: RunStore,
    status: str,
    payload: Any,
    tb: str | None,
    in_chunk: bool,
) -> str:
    """Put one job's outcome in the queue (unless its worker did); returns the event to report. A chunk that
    failed or was lost as a whole leaves the jobs it already ended as they are."""
    if in_chunk and status in ("lost", "error"):
        ended = queue.get(claimed.id)["status"]
        if ended in ("done", "failed"):
            return str(ended)
    if status == "recorded":  # the worker process already put the job's end in the queue
        return str(payload)
    if status == "lost":  # its process died: this job alone goes round again (or fails)
        given_back = queue.lost(claimed.id, worker, str(payload))
        return {"queued": "retry", "failed": "failed"}.get(given_back, "lost")
    if status == "ok":
        return record_or_fail(queue, claimed.id, worker, claimed.spec, payload, store)
    ok = queue.fail(claimed.id, worker, str(payload), tb)
    return "failed" if ok else "lost"


class _DriverHeartbeat:
    """Heartbeats for every job the driver has in flight; cancels the future of a job it no longer owns."""

    def __init__(
        self,
        queue: JobQueue,
        worker: str,
        in_flight: Mapping[Any, list[ClaimedJob]],
        lock: threading.Lock,
        runner: Runner,
        interval: float | None,
    ) -> None:
        self.queue, self.worker, self.in_flight, self.lock, self.runner = queue, worker, in_flight, lock, runner
        self.interval = float(interval if interval is not None else heartbeat_interval())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="batch-driver-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self.lock:
                items = list(self.in_flight.items())
            for future, jobs in items:
                for claimed in jobs:
                    if (
                        not self.queue.heartbeat(claimed.id, self.worker)
                        and len(jobs) == 1  # a chunk's cancelled job is skipped by its worker (start fails)
                        and not future.done()
                        and self.queue.get(claimed.id)["status"] == "cancelled"
                    ):
                        self.runner.cancel(future)  # the user cancelled it (a job its worker just finished is left)

    def __enter__(self) -> _DriverHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _workers(workers: int | None) -> int:
    n = int(workers) if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    return n

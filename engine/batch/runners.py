"""Runners: where a batch's jobs compute. One interface, two back ends, the same numbers.

`LocalRunner(workers=cores)`: a `concurrent.futures.ProcessPoolExecutor` (spawned processes, so nothing of
the parent's threads or locks is inherited). `DaskRunner(address=None)`: a `distributed.Client` at a
scheduler address, or a `LocalCluster` on 127.0.0.1 (processes, one thread each) when none is given.

Both run the same pure function (`engine.batch.jobs.compute_job_safe`) on a job's spec and hand its output
back; `run_batch` (the driver, in the submitting process) claims jobs from the queue, keeps their
heartbeats while they compute, and records each output in the run store. So workers of a cluster need the
code and the data, not the database; if the driver dies, its jobs' heartbeats stop and an `ivybt worker`
(or the next `run_batch`) takes them up again.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Mapping

from engine.batch.jobs import compute_job_safe, recover_saved, record_job
from engine.batch.queue import ClaimedJob, JobQueue, heartbeat_interval, new_worker_id
from engine.batch.spec import JobSpec
from engine.errors import ConfigError, EngineError

RUNNERS: tuple[str, ...] = ("local", "dask")


class Runner(ABC):
    """Computes job specs somewhere; `submit` returns a future, `wait_any` blocks until one is done."""

    name: str = "runner"
    workers: int = 1

    @property
    def capacity(self) -> int:
        """Jobs kept in flight: two per worker, so a worker never waits while the driver records a result."""
        return 2 * self.workers

    @abstractmethod
    def submit(self, spec: JobSpec) -> Any: ...

    @abstractmethod
    def wait_any(self, futures: Iterable[Any]) -> set[Any]: ...

    def outcome(self, future: Any) -> tuple[str, Any, str | None]:
        """("ok", JobOutput, None) or ("error", message, traceback) of a finished future."""
        try:
            return future.result()
        except Exception as e:  # the runner itself failed (process died, cluster gone): record it on the job
            return "error", f"runner {self.name} lost the job: {type(e).__name__}: {e}", None

    def cancel(self, future: Any) -> None:
        future.cancel()

    def close(self) -> None: ...

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalRunner(Runner):
    """A pool of `workers` spawned processes on this machine (default: one per core)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = _workers(workers)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, spec: JobSpec) -> Any:
        return self._pool.submit(compute_job_safe, spec.to_dict())

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        return set(wait(list(futures), return_when=FIRST_COMPLETED).done)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner(Runner):
    """A Dask cluster: `distributed.Client(address)`, or a `LocalCluster` on 127.0.0.1 with `workers`
    single-threaded worker processes when no address is given (closed again by `close`)."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if address:
            self._client = Client(address, timeout="30s")
            n = len(self._client.scheduler_info().get("workers", {}))
            self.workers = max(1, n)
        else:
            self.workers = _workers(workers)
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
        self.address = self._client.scheduler.address

    def submit(self, spec: JobSpec) -> Any:
        return self._client.submit(compute_job_safe, spec.to_dict(), pure=False)

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        from distributed import wait as dask_wait

        return set(dask_wait(list(futures), return_when="FIRST_COMPLETED").done)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_runner(name: str = "local", *, workers: int | None = None, address: str | None = None) -> Runner:
    """"local" -> LocalRunner(workers); "dask" -> DaskRunner(address, workers)."""
    if name == "local":
        if address:
            raise ConfigError("runner local: --address is for the dask runner")
        return LocalRunner(workers)
    if name == "dask":
        return DaskRunner(address, workers)
    raise ConfigError(f"runner {name!r} is not one of {RUNNERS}")


def run_batch(queue: JobQueue, batch_id: str, runner: Runner, *, worker: str | None = None, store: Any = None,
              heartbeat: float | None = None, on_event: Callable[[str, str], None] | None = None) -> dict[str, int]:
    """Run every queued job of `batch_id` on `runner`, recording each result; returns the job counts by status.

    A failing job is recorded as failed (error and traceback) and the others go on. on_event(job_id, status)
    is called as each job ends ("done", "failed" or "lost").
    """
    from engine.store import RunStore

    worker = worker or new_worker_id(f"{runner.name}-driver")
    store = store or RunStore(queue.path)
    in_flight: dict[Any, ClaimedJob] = {}
    lock = threading.Lock()
    beats = _DriverHeartbeat(queue, worker, in_flight, lock, runner, heartbeat)
    notify = on_event or (lambda job_id, status: None)
    with beats:
        while True:
            while len(in_flight) < runner.capacity:
                claimed = queue.claim(worker, batch_id=batch_id)
                if claimed is None:
                    break
                if recover_saved(queue, claimed, worker, store):
                    notify(claimed.id, "done")
                    continue
                queue.heartbeat(claimed.id, worker, 0.0, f"submitted to the {runner.name} runner")
                try:
                    future = runner.submit(claimed.spec)
                except Exception as e:  # the runner is broken (pool died, cluster gone): give the job back
                    queue.release(claimed.id, worker, f"runner {runner.name} failed: {type(e).__name__}: {e}")
                    raise EngineError(f"runner {runner.name} cannot take jobs any more: {e}") from e
                with lock:
                    in_flight[future] = claimed
            if not in_flight:
                break
            for future in runner.wait_any(list(in_flight)):
                with lock:
                    claimed = in_flight.pop(future)
                if future.cancelled():
                    notify(claimed.id, "lost")
                    continue
                status, payload, tb = runner.outcome(future)
                if status == "ok":
                    ok = record_job(queue, claimed.id, worker, claimed.spec, payload, store) is not None
                    notify(claimed.id, "done" if ok else "lost")
                else:
                    ok = queue.fail(claimed.id, worker, str(payload), tb)
                    notify(claimed.id, "failed" if ok else "lost")
    return queue.counts(batch_id)


class _DriverHeartbeat:
    """Heartbeats for every job the driver has in flight; cancels the future of a job it no longer owns."""

    def __init__(self, queue: JobQueue, worker: str, in_flight: Mapping[Any, ClaimedJob], lock: threading.Lock,
                 runner: Runner, interval: float | None) -> None:
        self.queue, self.worker, self.in_flight, self.lock, self.runner = queue, worker, in_flight, lock, runner
        self.interval = float(interval if interval is not None else heartbeat_interval())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="batch-driver-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self.lock:
                items = list(self.in_flight.items())
            for future, claimed in items:
                if not self.queue.heartbeat(claimed.id, self.worker):
                    self.runner.cancel(future)

    def __enter__(self) -> "_DriverHeartbeat":
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

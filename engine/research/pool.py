"""Where research work fans out: the interface it needs of a runner, and a local process pool that has it.

`CallRunner` is all a walk-forward asks of a runner: run fn(*args) somewhere, wait for the futures, close.
The batch runners (`engine.batch.runners`: the local pool, Dask) implement it, so windows can run on either;
this module does not import them (batch jobs call research, never the other way round). `ProcessPool` is
the local implementation, and the batch `LocalRunner` is built on it: spawned processes, so nothing of the
parent's threads or locks is inherited.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol


class CallRunner(Protocol):
    """Runs plain calls in worker processes; its futures have `result()` and `cancel()`."""

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(*args) on a worker (fn and args must pickle); returns its future."""
        ...

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        """Block until at least one of `futures` is done; returns the done ones."""
        ...

    def close(self) -> None: ...


class ProcessPool:
    """`workers` spawned processes on this machine (a `CallRunner`); a context manager that closes itself."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._executor.submit(fn, *args)

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        return set(wait(list(futures), return_when=FIRST_COMPLETED).done)

    def close(self) -> None:
        """Wait for running calls and drop queued ones."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

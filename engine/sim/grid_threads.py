"""The threads of a parameter grid (engine.sim.grid): how many, the batches the sets run in, the pool kept for the
process, and the runner that reports progress and honours cancel.

The kernels release the GIL, so threads run sets in parallel. The pool is made by the first grid that asks for
that many threads and kept: starting two fresh threads cost ~1 ms of W3's 7 ms grid on two threads (90 sets).
Batches are balanced (`batch_bounds`) so every thread gets the same work. `Runner.run` (the compiled crossover
grid) has the caller's thread take batches too, beside workers - 1 pool threads, from one queue: the caller no
longer sleeps on futures while the pool threads wake one by one (W3 on 2 threads ~1.4 ms less of ~11).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all

from engine.errors import ConfigError
from engine.settings import env_number

Progress = Callable[[int, int], None]
WORKERS_VARS = ("IVYBT_GRID_WORKERS", "NUMBA_NUM_THREADS")
"""Environment variables read, in order, for the default number of grid threads (else one per core)."""


def default_workers() -> int:
    """Grid threads when the caller gives none: IVYBT_GRID_WORKERS, else NUMBA_NUM_THREADS (so one variable pins
    the simulation threads and numba's metric threads alike), else one per core."""
    for var in WORKERS_VARS:
        value = env_number(var, None, lambda v: v >= 1 and v == int(v), "a whole number of threads >= 1")
        if value is not None:
            return int(value)
    return os.cpu_count() or 1


def batch_bounds(n: int, workers: int, most: int = 64) -> list[tuple[int, int]]:
    """(start, stop) of the batches items 0..n-1 run in on `workers` threads: about four per thread (so progress
    and cancel come often and a slow batch is made up elsewhere), at most `most` items each, in a count that is a
    multiple of `workers` with sizes differing by at most one, so every thread gets the same work. (Batches of a
    fixed size leave a remainder: 90 sets as 9 batches of 10 ran 5 batches on one thread and 4 on the other.)"""
    if n <= 0:
        return []
    count = max(-(-n // most), 4 * workers)
    count = min(n, -(-count // workers) * workers)
    edges = [n * i // count for i in range(count + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def grid_pool(workers: int) -> ThreadPoolExecutor | None:
    """The process's pool of `workers` grid threads (made on first use, then kept), or None for one worker: the
    caller's own thread runs every set. Grids running at once share it; each waits for its own batches only."""
    if workers <= 1:
        return None
    with _pools_lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix=f"ivybt-grid-{workers}")
        return pool


def _forget_pools() -> None:
    """In a forked child: the parent's pools have no threads there (and the lock may be held), start afresh."""
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools)


class Runner:
    """Runs a grid's sets in batches on a pool (or the caller's thread), reporting progress over the whole grid in
    order of completion and checking should_stop before each batch."""

    def __init__(self, total: int, workers: int, progress: Progress | None, should_stop: Callable[[], bool] | None):
        self.total, self.workers, self.progress, self.should_stop = total, workers, progress, should_stop
        self.done = 0
        self.pending: list[Future[int]] = []

    def submit(self, fn: Callable[[int], None], n: int, pool: Executor | None) -> list[Future[int]]:
        """fn(0..n-1) in batches: on `pool` (the futures returned, for `wait`) or, without one, here and now."""
        batches = [range(a, b) for a, b in batch_bounds(n, self.workers)]

        def run_batch(batch: Iterable[int]) -> int:
            count = 0
            for k in batch:
                fn(k)
                count += 1
            return count

        if pool is None:
            for batch in batches:
                self._check()
                self._count(run_batch(batch))
            return []
        self._check()
        futures = [pool.submit(run_batch, b) for b in batches]
        self.pending.extend(futures)
        return futures

    def run(self, fn: Callable[[int, int], None], bounds: list[tuple[int, int]], pool: Executor | None) -> None:
        """fn(start, stop) for every batch of `bounds`: on `pool`, returning when all are done, or here in order."""
        if pool is None:
            for start, stop in bounds:
                self._check()
                fn(start, stop)
                self._count(stop - start)
            return

        # the caller's thread takes batches too, beside workers - 1 pool threads, from one queue: no thread sits
        # waiting while the others work, and no batch waits for a pool thread to wake
        todo = deque(bounds)
        lock = threading.Lock()
        stopped = threading.Event()
        counts = [0]

        def drain() -> int:
            count = 0
            while not stopped.is_set():
                with lock:
                    if not todo:
                        break
                    start, stop = todo.popleft()
                fn(start, stop)
                count += stop - start
                with lock:
                    counts[0] += stop - start
            return count

        self._check()
        helpers = [pool.submit(drain) for _ in range(min(self.workers, len(bounds)) - 1)]
        self.pending.extend(helpers)
        try:
            while True:
                self._check()
                with lock:
                    if not todo:
                        break
                    start, stop = todo.popleft()
                fn(start, stop)
                with lock:
                    counts[0] += stop - start
                    done = counts[0]
                self._count(done - self.done)
        except BaseException:
            stopped.set()
            raise
        for fut in helpers:
            fut.result()
        self._count(counts[0] - self.done)

    def wait(self, futures: list[Future[int]]) -> None:
        """Wait for the batches of one chunk, counting progress; should_stop is checked before each."""
        for fut in futures:
            self._check()
            self._count(fut.result())

    def cancel(self) -> None:
        """After a cancel or an error: cancel every batch not started yet and wait for the running ones, so nothing
        of this grid still runs on the shared pool (writing into its arrays) once the grid has returned."""
        for fut in self.pending:
            fut.cancel()
        wait_all(self.pending)

    def _check(self) -> None:
        if self.should_stop and self.should_stop():
            raise ConfigError("cancelled")

    def _count(self, finished: int) -> None:
        self.done += finished
        if self.progress:
            self.progress(self.done, self.total)

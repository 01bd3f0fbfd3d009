"""Where research work fans out: the interface it needs of a runner, and a local process pool that has it.

`CallRunner` is all a walk-forward asks of a runner: run fn(*args) somewhere, wait for the futures, close.
The batch runners (`engine.batch.runners`: the local pool, Dask) implement it, so windows can run on either;
this module does not import them (batch jobs call research, never the other way round). `ProcessPool` is
the local implementation, and the batch `LocalRunner` is built on it.

Why not `concurrent.futures.ProcessPoolExecutor`: when one of its processes dies (SIGKILL, out of memory) the
executor breaks and fails every call in flight, and its processes outlive a killed parent. Here each process
gets one call at a time over its own pipe, so the pool knows which call was on which process: a death fails
that call alone (`WorkerLost`) and a new process takes the dead one's place; the calls still waiting stay in
this process until a worker is free. Every worker dies with its parent (`engine.research.parent_watch`).
Processes are spawned (nothing of the parent's threads or locks is inherited) by the pool's manager thread,
which lives as long as they do.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from multiprocessing.reduction import ForkingPickler
from typing import Any, Protocol

from engine.errors import ConfigError, EngineError
from engine.research.parent_watch import die_with_parent

START_FAILURES = 3
"""Processes in a row that die before they are ready: then the pool is broken (the interpreter cannot start)."""
STOP_WAIT = 10.0  # seconds a closing pool waits for an idle process to exit before killing it


class CallRunner(Protocol):
    """Runs plain calls in worker processes; its futures have `result()` and `cancel()`."""

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run fn(*args) on a worker (fn and args must pickle); returns its future."""
        ...

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        """Block until at least one of `futures` is done; returns the done ones."""
        ...

    def close(self) -> None: ...


class WorkerLost(EngineError):
    """The pool process running a call died (killed, crashed, out of memory) before it answered."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a pool process (set as that exception's __cause__)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


@dataclass
class _Call:
    future: Future[Any]
    payload: bytes
    name: str


@dataclass(eq=False)
class _Slot:
    process: Any
    conn: Connection
    ready: bool = False
    call: _Call | None = field(default=None)


class ProcessPool:
    """`workers` spawned processes on this machine (a `CallRunner`); a context manager that closes itself.

    initializer(*initargs), when given, runs in every process before it takes calls, including a process
    that replaces a dead one (e.g. imports and caches loaded once per process: `engine.batch.warm`); one that
    raises ends that process, which counts as a process dying while it starts."""

    def __init__(
        self, workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple[Any, ...] = ()
    ) -> None:
        if int(workers) < 1:
            raise ConfigError(f"a process pool needs workers >= 1, got {workers}")
        self.workers = int(workers)
        self._init = (initializer, tuple(initargs))
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._pending: deque[_Call] = deque()
        self._slots: list[_Slot] = []
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._woken = False  # a wake-up byte is in the pipe (one is enough: the pipe never fills)
        self._closing = False
        self._broken: str | None = None
        self._start_failures = 0
        self._thread = threading.Thread(target=self._manage, name="process-pool", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # an unclosed pool must not keep the interpreter from exiting

    # --- the caller's side ------------------------------------------------------------------------------

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run fn(*args) in a pool process; its future (a pickling error or WorkerLost is set on it)."""
        future: Future[Any] = Future()
        try:
            payload = bytes(ForkingPickler.dumps((fn, args)))
        except Exception as e:  # like ProcessPoolExecutor: the caller sees it on the future
            future.set_exception(e)
            return future
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit to a closed process pool")
            if self._broken:
                raise WorkerLost(self._broken)
            self._pending.append(_Call(future, payload, getattr(fn, "__name__", repr(fn))))
            self._wake()
        return future

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        return set(wait(list(futures), return_when=FIRST_COMPLETED).done)

    def pids(self) -> list[int]:
        """Process ids of the pool's processes that are ready for calls."""
        with self._lock:
            return [s.process.pid for s in self._slots if s.ready]

    def running(self) -> dict[Future[Any], int]:
        """future -> process id, for the calls a process is computing now."""
        with self._lock:
            return {s.call.future: s.process.pid for s in self._slots if s.call is not None}

    def close(self) -> None:
        """Wait for running calls, drop (cancel) queued ones and stop the processes."""
        atexit.unregister(self.close)
        with self._lock:
            self._closing = True
            while self._pending:
                self._pending.popleft().future.cancel()
            self._wake()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _wake(self) -> None:
        """Tell the manager thread to look again (called with the lock held)."""
        if not self._woken:
            self._woken = True
            self._wake_w.send_bytes(b"")

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the manager thread -----------------------------------------------------------------------------

    def _manage(self) -> None:
        try:
            with self._lock:
                self._slots = [self._spawn() for _ in range(self.workers)]
            while True:
                self._dispatch()
                with self._lock:
                    if (self._closing or self._broken) and all(s.call is None for s in self._slots):
                        break
                self._serve_ready()
        except BaseException as e:  # a fault here must not leave callers waiting forever
            with self._lock:
                self._break(f"the process pool failed: {type(e).__name__}: {e}")
            raise
        finally:
            self._stop_all()

    def _spawn(self) -> _Slot:
        ours, theirs = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(theirs, os.getpid(), *self._init), name="ivybt-pool")
        process.start()
        theirs.close()
        return _Slot(process, ours)

    def _dispatch(self) -> None:
        """Give waiting calls to idle ready processes (a call cancelled while it waited is skipped)."""
        sends = []
        with self._lock:
            for slot in self._slots:
                while slot.ready and slot.call is None and self._pending:
                    call = self._pending.popleft()
                    if call.future.set_running_or_notify_cancel():
                        slot.call = call
                        sends.append((slot, call.payload))
        for slot, payload in sends:
            try:
                slot.conn.send_bytes(payload)
            except OSError:  # it died meanwhile: its sentinel tells, and the call fails with WorkerLost
                pass

    def _serve_ready(self) -> None:
        """Wait for an answer, a death or a wake-up, and handle it."""
        owners: dict[Any, _Slot] = {}
        for slot in self._slots:
            owners[slot.conn] = owners[slot.process.sentinel] = slot
        for obj in wait_ready([self._wake_r, *owners]):
            if obj is self._wake_r:
                # drain first, then clear the flag: a wake-up sent after the drain finds the flag clear and
                # sends a byte the next wait sees; one that found it still set queued its call before this
                # returns, and _dispatch runs next (clearing first could swallow a byte and leave the flag set
                # with an empty pipe: every later submit would then wait forever)
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
                with self._lock:
                    self._woken = False
                continue
            slot = owners[obj]
            if slot not in self._slots:  # replaced earlier in this round
                continue
            if obj is slot.conn:
                self._receive(slot)
            else:
                self._died(slot)

    def _receive(self, slot: _Slot) -> None:
        try:
            message = ForkingPickler.loads(slot.conn.recv_bytes())
        except (EOFError, OSError):
            self._died(slot)
            return
        except Exception as e:  # an answer this process cannot unpickle
            message = ("raise", e, traceback.format_exc())
        if message[0] == "ready":
            with self._lock:
                slot.ready, self._start_failures = True, 0
            return
        with self._lock:
            call, slot.call = slot.call, None
        if call is None:
            return
        if message[0] == "ok":
            call.future.set_result(message[1])
        else:
            error = message[1]
            error.__cause__ = RemoteTraceback(message[2])
            call.future.set_exception(error)

    def _died(self, slot: _Slot) -> None:
        """A process ended: fail its call with WorkerLost and start another in its place (unless closing)."""
        slot.process.join(STOP_WAIT)
        if slot.process.is_alive():  # its pipe broke but it lives on: it cannot serve any more
            slot.process.kill()
            slot.process.join()
        slot.conn.close()
        code = slot.process.exitcode
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        with self._lock:
            if not slot.ready:
                self._start_failures += 1
            if self._start_failures >= START_FAILURES:
                self._break(f"process pool: {START_FAILURES} processes in a row died while starting ({how})")
            index = self._slots.index(slot)
            if self._closing or self._broken:
                del self._slots[index]
            else:
                self._slots[index] = self._spawn()
            call, slot.call = slot.call, None
        if call is not None:
            call.future.set_exception(
                WorkerLost(f"pool process {slot.process.pid} died ({how}) while running {call.name}")
            )

    def _break(self, reason: str) -> None:
        """The pool cannot go on: fail every waiting call and refuse new ones (called with the lock held)."""
        self._broken = reason
        while self._pending:
            self._pending.popleft().future.set_exception(WorkerLost(reason))

    def _stop_all(self) -> None:
        for slot in self._slots:
            try:
                slot.conn.send_bytes(b"")
            except OSError:
                pass
        for slot in self._slots:
            slot.process.join(STOP_WAIT)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        self._slots = []


# --- a pool process -------------------------------------------------------------------------------------


def _serve(
    conn: Connection,
    parent_pid: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> None:
    """A pool process: die with the parent, run the initializer, say ready, then run one call at a time until
    an empty message."""
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)
    conn.send_bytes(_dump(("ready",)))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError, KeyboardInterrupt):  # the pool is gone, or Ctrl-C between calls
            return
        if not data:
            return
        try:
            fn, args = ForkingPickler.loads(data)
            answer: tuple[Any, ...] = ("ok", fn(*args))
        except BaseException as e:  # the call's error travels back to its future
            answer = ("raise", e, traceback.format_exc())
        conn.send_bytes(_dump(answer))


def _dump(answer: tuple[Any, ...]) -> bytes:
    """Pickle an answer; one that cannot be pickled becomes a RuntimeError saying what it was."""
    try:
        return bytes(ForkingPickler.dumps(answer))
    except Exception as e:
        if answer[0] == "raise":
            error, tb = RuntimeError(f"{type(answer[1]).__name__}: {answer[1]} (not picklable)"), answer[2]
        else:
            error, tb = RuntimeError(f"the call's result cannot be sent back: {type(e).__name__}: {e}"), ""
        return bytes(ForkingPickler.dumps(("raise", error, tb)))

"""Run a user strategy's code in a child process with a wall-clock time limit and a memory limit.

A user strategy is code: importing its file runs it, and its methods can loop forever or eat the memory. So
the engine's process never imports a user file (listing reads its source, `engine.strategies.source_scan`);
everything that runs one goes through `call(code, fn, *args)`: `fn(cls, *args)` runs in a child process that
imported the file (`cls` is the user's class there) and the answer comes back pickled.

- Time: each call into the strategy (`engine.strategies.boundary.call_strategy` in the child, and the file's
  import) may take `limits().timeout_s` seconds of wall-clock time (`IVYBT_USER_CODE_TIMEOUT`, `--timeout`;
  default 60). Past it the child is killed with SIGKILL (a child that ignores signals dies too).
- Memory: the child's address space is capped with RLIMIT_AS at `limits().memory_mb` MB
  (`IVYBT_USER_CODE_MEMORY_MB`, `--memory-mb`; default 2048; Python with pandas takes about 400 of them).
- Cancel: inside `with stop_when(should_stop):` the wait checks `should_stop()` and kills the child when it
  says so (a cancelled batch job).
Each ends in one UserCodeError line naming the strategy and the limit. The guard stops accidents, not malice.

Children are forked from a forkserver that has the engine imported (spawn-safe in a threaded app, and a new
child costs about 15 ms, not the second a fresh interpreter takes). A child serves one user file and stays
idle for the next call of the same file (a backtest costs one round trip, plus pickling the data); a child
that hit a limit is killed, never reused. What runs inside a child is `engine.strategies.sandbox_child`.
Built-in strategies never come here.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import io
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import ForkServerProcess, set_spawning_popen
from typing import Any

from engine.errors import ConfigError, UserCodeError
from engine.settings import env_number
from engine.strategies.sandbox_child import UserCode, serve

__all__ = ["UserCode", "call", "call_watched", "limits", "set_limits", "stop_when", "workers_started"]

TIMEOUT_ENV = "IVYBT_USER_CODE_TIMEOUT"
MEMORY_ENV = "IVYBT_USER_CODE_MEMORY_MB"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 2048
MIN_MEMORY_MB = 256
PRELOAD = ["engine.strategies.registry", "engine.strategies.user_code"]
"""Imported once by the forkserver, so every child starts with the engine (and the built-ins) loaded."""
IDLE_PER_FILE = 2
IDLE_MAX = 4
"""Idle children kept at most per user file and in all (the oldest go first)."""
POLL_S = 0.05


@dataclass(frozen=True)
class Limits:
    """The limits of one call into user code: wall-clock seconds per call and the child's memory in MB."""

    timeout_s: float
    memory_mb: int


def _number(env: str, default: float) -> float:
    return env_number(
        env, default, lambda v: 0 < v < math.inf, "must be a positive number", not_a_number="not a number"
    )


def limits() -> Limits:
    """The limits in force: `IVYBT_USER_CODE_TIMEOUT` seconds and `IVYBT_USER_CODE_MEMORY_MB` (or defaults)."""
    memory = int(_number(MEMORY_ENV, DEFAULT_MEMORY_MB))
    if memory < MIN_MEMORY_MB:
        raise ConfigError(f"{MEMORY_ENV}={memory}: at least {MIN_MEMORY_MB} MB (Python and pandas need ~400)")
    return Limits(_number(TIMEOUT_ENV, DEFAULT_TIMEOUT_S), memory)


def set_limits(timeout_s: float | None = None, memory_mb: int | None = None) -> Limits:
    """Set the limits for this process and the processes it starts (through the environment); validated."""
    if timeout_s is not None:
        os.environ[TIMEOUT_ENV] = repr(float(timeout_s))
    if memory_mb is not None:
        os.environ[MEMORY_ENV] = str(int(memory_mb))
    return limits()


_should_stop: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar("should_stop", default=None)


@contextlib.contextmanager
def stop_when(should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block (this thread), a call into user code is killed as soon as `should_stop()` is True."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)


# ---- the engine's side ------------------------------------------------------------------------------------


class _Worker:
    """One child process serving one user file."""

    def __init__(self, code: UserCode, memory_mb: int, watched: bool) -> None:
        ctx = _context()
        self.code, self.memory_mb = code, memory_mb
        self.conn, child_conn = ctx.Pipe()
        self.process = _Process(
            target=serve, args=(child_conn, code, memory_mb, watched), name=f"ivybt-user-{code.name}", daemon=True
        )
        with _lock, _allow_children():
            self.process.start()
            _live.add(self)
            _counts["started"] += 1
        child_conn.close()

    def ask(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> tuple[str, Any, list[str]]:
        """fn(cls, *args) in the child: ("ok", value, reads) or ("error", the exception it raised, reads);
        raises UserCodeError (the child killed) when a limit stopped it."""
        where = "import"
        stop = _should_stop.get()
        try:
            self.conn.send((fn, args))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            pass  # the child is gone: the loop below says how
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                ready = self.conn.poll(POLL_S)
                message = self.conn.recv() if ready else None
            except (EOFError, ConnectionResetError):
                self.kill()
                raise self._died() from None
            if message is not None:
                kind = message[0]
                if kind == "tick":
                    where, deadline = message[1], time.monotonic() + timeout_s
                    continue
                if kind in ("ok", "error"):
                    return kind, message[1], message[2]
                self.kill()  # "memory"
                raise UserCodeError(
                    f"user strategy {self.code.name!r} stopped: memory limit {self.memory_mb} MB exceeded in {where} "
                    f"({MEMORY_ENV} or --memory-mb)"
                )
            if stop is not None and stop():
                self.kill()
                raise UserCodeError(f"user strategy {self.code.name!r} stopped: cancelled in {where}")
            if time.monotonic() > deadline:
                self.kill()
                raise UserCodeError(
                    f"user strategy {self.code.name!r} stopped: time limit {timeout_s:g} s exceeded in {where} "
                    f"({TIMEOUT_ENV} or --timeout)"
                )
            if not self.process.is_alive() and not self.conn.poll(0):
                self.kill()
                raise self._died()

    def _died(self) -> UserCodeError:
        self.process.join(1.0)
        return UserCodeError(
            f"user strategy {self.code.name!r} stopped: its process ended without an answer (exit code "
            f"{self.process.exitcode}; memory limit {self.memory_mb} MB)"
        )

    def kill(self) -> None:
        """SIGKILL the child and reap it (safe to call twice)."""
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(5.0)
        self.conn.close()
        with _lock:
            _live.discard(self)


class _Popen(popen_forkserver.Popen):
    """The forkserver's Popen, minus the main module: a child of `spawn` or `forkserver` runs the parent's
    main script again (as `__mp_main__`), and under Streamlit that is the app. Sandbox children need only the
    engine, which the forkserver preloaded. The rest is `popen_forkserver.Popen._launch` of Python 3.12."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in the original
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


@contextlib.contextmanager
def _allow_children() -> Iterator[None]:
    """Let a daemonic process (a Dask worker) start a sandbox child: multiprocessing refuses because a daemon's
    children would be orphaned when it is terminated, but ours die with it (`_die_with_parent`)."""
    me = multiprocessing.current_process()
    daemonic = me.daemon
    if daemonic:
        me.daemon = False
    try:
        yield
    finally:
        if daemonic:
            me.daemon = True


class _Process(ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _Popen(process_obj)


_lock = threading.Lock()
_idle: dict[tuple[UserCode, int], list[_Worker]] = {}
_live: set[_Worker] = set()
_counts = {"started": 0}
_ctx: list[Any] = []


def _context() -> Any:
    """The forkserver context, its server preloading the engine (started on first use)."""
    if not _ctx:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        atexit.register(shutdown)
        _ctx.append(ctx)
    return _ctx[0]


def workers_started() -> int:
    """How many sandbox children this process has started (tests: a built-in strategy starts none)."""
    return _counts["started"]


def shutdown() -> None:
    """Kill every sandbox child of this process (at exit: an idle child must not outlive us)."""
    with _lock:
        workers = list(_live)
        _idle.clear()
    for worker in workers:
        worker.kill()


def _take(code: UserCode, memory_mb: int) -> _Worker:
    with _lock:
        stale = [k for k in _idle if k[0].path == code.path and k != (code, memory_mb)]
        old = [w for k in stale for w in _idle.pop(k)]
        pool = _idle.get((code, memory_mb), [])
        worker = pool.pop() if pool else None
    for w in old:
        w.kill()
    if worker is not None and worker.process.is_alive():
        return worker
    return _Worker(code, memory_mb, watched=False)


def _give_back(worker: _Worker) -> None:
    """Keep `worker` idle for the next call of its file, within IDLE_PER_FILE and IDLE_MAX."""
    with _lock:
        pool = _idle.pop((worker.code, worker.memory_mb), [])
        pool.append(worker)
        _idle[(worker.code, worker.memory_mb)] = pool  # most recently used last
        extra = pool[:-IDLE_PER_FILE]
        del pool[:-IDLE_PER_FILE]
        while sum(len(p) for p in _idle.values()) > IDLE_MAX:
            oldest = next(iter(_idle))
            extra.append(_idle[oldest].pop(0))
            if not _idle[oldest]:
                del _idle[oldest]
    for w in extra:
        w.kill()


def call(code: UserCode, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(cls, *args)` in a sandbox child, where `cls` is the user class `code` names; its value.

    Raises what the call raised (StrategyError naming the file and line for an error in the user's code,
    ConfigError for bad parameters) or UserCodeError when a limit stopped it."""
    current = limits()
    worker = _take(code, current.memory_mb)
    try:
        kind, value, _ = worker.ask(fn, args, current.timeout_s)
    except BaseException:  # a limit, or Ctrl-C while waiting: the child may be mid-call, never reuse it
        worker.kill()
        raise
    _give_back(worker)  # an error raised by the user's code leaves the child fine
    if kind == "error":
        raise value
    return value


def call_watched(code: UserCode, fn: Callable[..., Any], *args: Any) -> tuple[Any, list[str]]:
    """`call`, in a fresh child that records what the user's code reads from outside the engine
    (`engine.strategies.watch`): (value, those reads in order). The child is not reused."""
    current = limits()
    worker = _Worker(code, current.memory_mb, watched=True)
    try:
        kind, value, reads = worker.ask(fn, args, current.timeout_s)
    finally:
        worker.kill()
    if kind == "error":
        raise value
    return value, reads

"""Job kinds provided by plugins: code above the engine (brokers' scheduled daily operations) that the queue
and its workers run without the engine importing it.

A plugin is an entry point of the "ivybt.jobs" group (pyproject.toml) naming a `JobKind`: its name, `run`
(one claimed job -> a JSON-ready summary; it saves no run in the run store) and optionally `poll` (queue the
jobs that are due at `now`, called by every `ivybt worker` loop before it claims a job) and `check` (validate
a front end's input, e.g. a broker name, raising EngineError). Plugins load on first use, once per process,
so `ivybt worker`, the app's worker and `ivybt schedule run-due` all have them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

from engine.batch.queue import ClaimedJob, JobQueue
from engine.errors import EngineError

GROUP = "ivybt.jobs"
"""Entry-point group of the plugin job kinds."""

Progress = Callable[[float, str | None], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRun:
    """What a plugin's `run` gets: the queue, the claimed job, the worker that owns it and a progress report."""

    queue: JobQueue
    job: ClaimedJob
    worker: str
    progress: Progress

    def checkpoint(self, summary: Mapping[str, Any]) -> bool:
        """Keep `summary` on the job now; a retry after a crash finds it in `job.summary`. False if the worker
        lost the job."""
        return self.queue.save_summary(self.job.id, self.worker, summary)


@dataclass(frozen=True)
class JobKind:
    """A plugin job kind (see the module docstring). `options`: the allowed values of its settings, for front
    ends (e.g. {"broker": ("paper", "alpaca", "ibkr")})."""

    name: str
    run: Callable[[JobRun], dict[str, Any]]
    poll: Callable[[JobQueue, datetime], list[str]] | None = None
    check: Callable[[Mapping[str, Any]], None] | None = None
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@functools.cache
def plugin_kinds() -> dict[str, JobKind]:
    """name -> JobKind of every installed "ivybt.jobs" entry point (loaded once per process)."""
    kinds: dict[str, JobKind] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        kind = ep.load()
        if not isinstance(kind, JobKind):
            raise EngineError(f"entry point {ep.name!r} of {GROUP}: {ep.value} is not an engine.batch.kinds.JobKind")
        kinds[kind.name] = kind
    return kinds


def job_kind(name: str) -> JobKind | None:
    """The plugin kind `name`, or None (a built-in kind, or not installed)."""
    return plugin_kinds().get(name)


def require_kind(name: str) -> JobKind:
    """The plugin kind `name`; EngineError when no installed package provides it."""
    kind = job_kind(name)
    if kind is None:
        raise EngineError(
            f"job kind {name!r} is not installed (no {GROUP!r} entry point provides it; reinstall IvyBT: "
            f"pip install -e .)"
        )
    return kind


def poll_kinds(queue: JobQueue, now: datetime) -> list[str]:
    """Let every plugin queue its due jobs; returns the ids they queued. A failing poll is logged and skipped:
    scheduling trouble never stops a worker from running the jobs already queued."""
    queued: list[str] = []
    for kind in plugin_kinds().values():
        if kind.poll is None:
            continue
        try:
            queued.extend(kind.poll(queue, now))
        except Exception:  # a plugin's problem must not stop the worker loop
            log.exception("polling job kind %s failed", kind.name)
    return queued

"""The execution lease of a plan, kept alive by a heartbeat: `lease_seconds()` and `Heartbeat`.

A plan's lease (engine.ops.audit_log: `acquire_lease` / `release_lease` on the plans table) makes two executions
of one plan take turns. It is short (`lease_seconds()`: IVYBT_LEASE_S, default 10 s) and renewed by a heartbeat
thread every third of it while the execution runs, so a live execution keeps it as long as it needs while the
lease of a process that died (kill -9, power loss) lapses within seconds and a rerun can take over. A heartbeat
that finds the lease taken by another owner (this process stalled longer than the lease) marks itself `lost`; the
orders stay safe either way (each client_order_id is placed once), the execution reports it.
"""

from __future__ import annotations

import threading
from types import TracebackType

from engine.ops.audit_log import AuditLog
from engine.settings import env_number

LEASE_ENV = "IVYBT_LEASE_S"
DEFAULT_LEASE_S = 10.0
"""Seconds an execution lease lasts without a heartbeat (IVYBT_LEASE_S overrides it); renewed every third of it."""
MAX_LEASE_S = 3600.0


def lease_seconds() -> float:
    """Seconds a lease lasts: IVYBT_LEASE_S, else DEFAULT_LEASE_S; a bad value is a ConfigError."""
    return env_number(
        LEASE_ENV,
        DEFAULT_LEASE_S,
        lambda v: 0.1 <= v <= MAX_LEASE_S,
        f"must be a number of seconds in [0.1, {MAX_LEASE_S:g}]",
    )


class Heartbeat:
    """Renews `owner`'s lease on `plan_id` every `seconds` / 3 in a daemon thread until the `with` block ends."""

    def __init__(self, log: AuditLog, plan_id: str, owner: str, seconds: float) -> None:
        self.log, self.plan_id, self.owner, self.seconds = log, plan_id, owner, seconds
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{plan_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3.0):
            try:
                if not self.log.acquire_lease(self.plan_id, self.owner, seconds=self.seconds):
                    self.lost = True
            except Exception:  # noqa: BLE001 - a busy database: the next beat tries again, the lease may lapse
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=max(self.seconds, 1.0))

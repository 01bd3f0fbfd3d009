"""A Dask worker plugin that warms every worker of a batch's cluster, those that join later included.

`client.run(warm_process, ...)` warms only the workers connected at that moment; a worker that joins a running
cluster afterwards (a LocalCluster scaled up, a remote worker started late, a nanny restarting a dead worker)
would pay numba's context, plotly and the strategies' kernels inside its first jobs. Registered with
`client.register_plugin`, `WarmWorkers.setup` runs `engine.batch.warm.warm_process` on every current worker
(the registration waits for them) and on each worker when it joins. Imported only by the Dask runner
(distributed is an optional dependency).
"""

from __future__ import annotations

import asyncio
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from engine.batch.warm import warm_process

PLUGIN_NAME = "ivybt-warm"
"""One plugin per cluster: registering again under this name (a later batch's needs) replaces it."""


class WarmWorkers(WorkerPlugin):
    """Warms a Dask worker for batch jobs with the given `needs` (`engine.batch.warm.needs_of`)."""

    name = PLUGIN_NAME

    def __init__(self, needs: tuple[str, ...] = ()) -> None:
        self.needs = tuple(needs)

    async def setup(self, worker: Any) -> None:
        """Warm this worker's process in a thread (the worker's event loop keeps answering heartbeats)."""
        await asyncio.to_thread(warm_process, 0.0, self.needs)

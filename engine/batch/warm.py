"""Warm worker processes: what a batch's pool process or Dask worker loads once and keeps for every job.

A batch job on the bundled daily data computes in ~25 ms, but the first job of a process pays, on top, what
that process has not loaded yet: numba's compiler context and the cached kernels (~0.5 s; until then
`engine.jit` runs kernels interpreted for up to 0.5 s of their time, which a pool process of many jobs never
wins back) and, for jobs with artifacts, plotly and its first figure (~0.4 s). Paid inside the jobs, it is
paid again by every process, so a second worker cannot halve the batch. `warm_process` pays it once per
process, before the jobs: the runners call it when a process starts (`engine.research.pool.ProcessPool`'s
initializer: a process that replaces a dead one is warm too) and on every worker with the batch's `needs`
(`Runner.warm_up(specs)`; on Dask a worker plugin, `engine.batch.dask_warm`, so a worker that joins later
is warmed too). Both tiers of `engine.jit` run the same source and give the same numbers, so
warming changes when kernels load, never a result.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator

from engine import jit
from engine.batch.spec import JobSpec
from engine.config import BacktestConfig
from engine.data import load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy

ARTIFACTS = "artifacts"
"""The need of a job that writes HTML figures (plotly imported and one figure built)."""
MAX_STRATEGY_WARMS = 8
"""Distinct (strategy, params, config) a warm-up runs a tiny backtest of, at most (each loads its kernels)."""

_done: set[str] = set()
"""The needs this process has warmed (a process warms each once)."""


def needs_of(specs: Iterable[JobSpec]) -> tuple[str, ...]:
    """What a batch's jobs need warm in each process: "artifacts" when a job writes figures, and one
    `strategy:` entry per distinct built-in backtest set-up (JSON of strategy, params and config)."""
    import json

    needs: list[str] = []
    strategies: list[str] = []
    for spec in specs:
        if spec.artifacts and ARTIFACTS not in needs:
            needs.append(ARTIFACTS)
        req = spec.request
        setup = {k: v for k, v in req.to_dict().items() if k in ("strategy", "params", "config")}
        key = "strategy:" + json.dumps(setup, sort_keys=True, default=str)
        if not req.is_event and key not in strategies and len(strategies) < MAX_STRATEGY_WARMS:
            strategies.append(key)
    return (*needs, *strategies)


def warm_process(hold: float = 0.0, needs: tuple[str, ...] = ()) -> int:
    """Import the engine, load numba's compiled kernels (when its disk cache is warm) and warm each of
    `needs` (see `needs_of`) once in this process; then hold the process `hold` seconds (so a runner's
    warm-up calls land on distinct processes). Returns the process id. Best effort, never raises (it is a
    pool's initializer): what fails to warm (a strategy that cannot run on the sample year) is skipped, and
    the job that needs it loads it itself."""
    with _compiled_tier():
        if "engine" not in _done:
            with contextlib.suppress(Exception):  # e.g. a data source without SPY: the jobs load what they need
                data = load_market_data(["SPY"], "2020-01-01", "2020-12-31")
                run_backtest(data, create_strategy("sma_cross", {"fast": 5, "slow": 20}), BacktestConfig())
            _done.add("engine")
        for need in needs:
            if need not in _done:
                with contextlib.suppress(Exception):
                    _warm(need)
                _done.add(need)
    time.sleep(hold)
    return os.getpid()


def warmed() -> frozenset[str]:
    """The needs this process has warmed ("engine" once `warm_process` ran)."""
    return frozenset(_done)


def _warm(need: str) -> None:
    if need == ARTIFACTS:
        from engine.batch.artifacts import job_figure  # imports plotly: only for batches that write figures
        from engine.batch.output import JobOutput
        from engine.request import BacktestRequest, run_request

        request = BacktestRequest(strategy="buy_and_hold", symbols=("SPY",), start="2020-01-01", end="2020-03-31")
        spec = JobSpec(name="warm-up", kind="backtest", request=request)
        job_figure(spec, JobOutput(run_request(request), request, "backtest", "sharpe", None)).to_html(
            include_plotlyjs=False
        )
    elif need.startswith("strategy:"):
        import json

        from engine.request import BacktestRequest

        setup = json.loads(need.removeprefix("strategy:"))
        request = BacktestRequest.from_dict({**setup, "symbols": ["SPY"], "start": "2020-01-01", "end": "2020-12-31"})
        data = load_market_data(list(request.symbols), request.start, request.end)
        run_backtest(data, create_strategy(request.strategy, request.params), request.config)


@contextlib.contextmanager
def _compiled_tier() -> Iterator[None]:
    """Run the warm-up on numba's compiled tier when its cache is warm (loading is milliseconds per kernel
    once the context is up, and the context is what this process pays once); else leave the tiers alone (a
    cold cache would compile for tens of seconds)."""
    if jit.mode() != "auto" or not jit.is_warm():
        yield
        return
    os.environ["IVYBT_JIT"] = "compiled"
    try:
        yield
    finally:
        os.environ.pop("IVYBT_JIT", None)

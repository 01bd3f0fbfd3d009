"""The size and expected time of a batch before it is queued (`ivybt batch run FILE --dry-run`): one
`engine.research.estimate.Estimate` per job (a backtest counts as one set), and their sum.

ETAs are measured as the research estimates measure them (a calibration run on each job's data, kept per
process, so jobs on the same data and strategy measure once). A Monte Carlo job's calibration needs its
backtest, which is run; nothing is queued and no job is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.batch.jobs import optimize_spec
from engine.batch.spec import Batch, JobSpec
from engine.data import load_market_data
from engine.request import run_request
from engine.research.estimate import (
    Estimate,
    estimate_montecarlo,
    estimate_optimize,
    estimate_walkforward,
    measure_sets,
)
from engine.research.montecarlo import MonteCarloSpec
from engine.research.optimize import OptimizeSpec
from engine.research.walkforward import WalkForwardSpec


@dataclass(frozen=True)
class BatchEstimate:
    """Per job (name, kind, estimate) and the batch's totals; seconds = the sum of the jobs' ETAs (run one
    after another; `workers` processes divide it at best)."""

    name: str
    jobs: tuple[tuple[str, str, Estimate], ...]

    @property
    def to_run(self) -> int:
        return sum(e.to_run for _, _, e in self.jobs)

    @property
    def total(self) -> int:
        return sum(e.total for _, _, e in self.jobs)

    @property
    def pruned(self) -> int:
        return sum(e.pruned_count for _, _, e in self.jobs)

    @property
    def seconds(self) -> float | None:
        parts = [e.seconds for _, _, e in self.jobs]
        return None if any(p is None for p in parts) else float(sum(p for p in parts if p is not None))

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.name,
            "jobs": [{"name": n, "kind": k, **e.to_dict()} for n, k, e in self.jobs],
            "total": self.total,
            "to_run": self.to_run,
            "pruned": self.pruned,
            "eta_seconds": self.seconds,
        }


def estimate_job(job: JobSpec) -> Estimate:
    """One job's estimate (what the job would evaluate, after pruning, and how long)."""
    if job.kind == "optimize":
        return estimate_optimize(optimize_spec(job))
    if job.kind == "walkforward":
        return estimate_walkforward(WalkForwardSpec(optimize=optimize_spec(job), **dict(job.walkforward)))
    if job.kind == "montecarlo":
        return estimate_montecarlo(run_request(job.request), MonteCarloSpec.from_dict(job.montecarlo))
    req = job.request  # a backtest (or a plugin kind run as one): one set, timed like an optimizer's set
    spec = OptimizeSpec(
        strategy=req.strategy,
        symbols=req.symbols,
        start=req.start,
        end=req.end,
        config=req.config,
        data_source=req.data_source,
    )
    data = load_market_data(list(req.symbols), req.start, req.end, req.data_source)
    seconds, _ = measure_sets(spec, data, [dict(req.params)])
    return Estimate(job.kind, "backtests", 1, 1, {}, seconds, "calibration run of the backtest")


def estimate_batch(batch: Batch) -> BatchEstimate:
    """Every job's estimate, in file order."""
    return BatchEstimate(batch.name, tuple((j.name, j.kind, estimate_job(j)) for j in batch.jobs))

"""`JobOutput`: what computing one batch job produced, handed from the computing process to whoever records
it (the run store, the artifacts writer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.request import BacktestRequest
from engine.sim.result import BacktestResult


@dataclass
class JobOutput:
    """What one job produced: the run to save, its objective, and a JSON-ready summary."""

    result: BacktestResult
    request: BacktestRequest
    run_kind: str
    objective_name: str
    objective: float | None
    summary: dict[str, Any] = field(default_factory=dict)
    executor: str = ""

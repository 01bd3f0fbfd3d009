"""`JobSpec` and `Batch`: validated, picklable jobs ready to queue (what a batch YAML file turns into)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.metrics.registry import LOWER_IS_BETTER
from engine.request import BacktestRequest
from engine.store.jsonable import plain

DEFAULT_OBJECTIVE = "sharpe"
"""Metrics where a smaller value is better (drawdowns, VaR and worst day are negative: higher is better)."""


@dataclass(frozen=True)
class JobSpec:
    """One job of a batch.

    kind: "backtest" (run `request`), "optimize" (search `optimize` ranges around the fixed `request.params`),
    "walkforward" (optimize in-sample, test out-of-sample per `walkforward` windows) or "montecarlo"
    (run `request`, then resample it per `montecarlo`).
    optimize / walkforward / montecarlo: the fields of OptimizeSpec / WalkForwardSpec / MonteCarloSpec set in
    the file (unset ones keep the engine's defaults).
    objective: metric the batch summary ranks jobs by (an engine.metrics name; "sharpe" by default).
    artifacts: also write HTML figures of the result to the workspace's artifacts folder.
    maximize: whether a higher objective is better, as the file sets it (None: see `higher_is_better`).
    options: the settings of a job kind provided by a plugin (engine.batch.kinds), e.g. a scheduled daily
    run's schedule id and trading date; empty for the built-in kinds.
    """

    name: str
    kind: str
    request: BacktestRequest
    optimize: Mapping[str, Any] = field(default_factory=dict)
    walkforward: Mapping[str, Any] = field(default_factory=dict)
    montecarlo: Mapping[str, Any] = field(default_factory=dict)
    objective: str = DEFAULT_OBJECTIVE
    artifacts: bool = False
    maximize: bool | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def higher_is_better(self) -> bool:
        """The objective's direction: the job's `maximize`, else `optimize.maximize`, else the metric's own
        (lower is better only for the registry's LOWER_IS_BETTER)."""
        for explicit in (self.maximize, self.optimize.get("maximize")):
            if explicit is not None:
                return bool(explicit)
        return self.objective not in LOWER_IS_BETTER

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "kind": self.kind,
            "request": self.request.to_dict(),
            "optimize": plain(self.optimize, keep_nan=True),
            "walkforward": dict(self.walkforward),
            "montecarlo": dict(self.montecarlo),
            "objective": self.objective,
            "artifacts": self.artifacts,
            "maximize": self.maximize,
        }
        if self.options:
            out["options"] = plain(self.options)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> JobSpec:
        v = dict(values)
        return cls(
            name=str(v["name"]),
            kind=str(v["kind"]),
            request=BacktestRequest.from_dict(v["request"]),
            optimize=dict(v.get("optimize") or {}),
            walkforward=dict(v.get("walkforward") or {}),
            montecarlo=dict(v.get("montecarlo") or {}),
            objective=str(v.get("objective") or DEFAULT_OBJECTIVE),
            artifacts=bool(v.get("artifacts", False)),
            maximize=None if v.get("maximize") is None else bool(v["maximize"]),
            options=dict(v.get("options") or {}),
        )


@dataclass(frozen=True)
class Batch:
    """A validated batch: its name, the jobs in file order, and where it came from (file name and text)."""

    name: str
    jobs: tuple[JobSpec, ...]
    source: str = "<batch>"
    text: str = ""
    max_attempts: int | None = None

"""Pydantic v2 models of a batch YAML file (`BatchJobConfig`) and of one job in it.

They check structure and types (unknown fields, wrong types, values out of range) with exact locations;
`engine.batch.config` maps those locations back to YAML lines and adds the checks that need the engine
(strategy names, parameter rules, symbols). Fields left out stay unset, so the engine's own defaults apply
(`BacktestConfig`, `OptimizeSpec`, ...). Field types, bounds and literal lists are the engine's own (built
from its dataclasses by `engine.validation.section_model`): these models restate neither a default nor a bound.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.config import BacktestConfig
from engine.research.montecarlo import MonteCarloSpec
from engine.research.optimize import OptimizeSpec
from engine.research.walkforward import WalkForwardSpec
from engine.store.watchlists import expand_symbols
from engine.validation import FORBID, section_model

Kind = Literal["backtest", "optimize", "walkforward", "montecarlo"]
KINDS: tuple[str, ...] = get_args(Kind)


class _Strict(BaseModel):
    model_config = FORBID


ConfigModel = section_model(BacktestConfig, "ConfigModel", optional=True)
"""`BacktestConfig` fields (types and bounds from engine/config.py), each optional."""

_OptimizeSearch = section_model(
    OptimizeSpec,
    "_OptimizeSearch",
    only=("method", "n_trials", "seed", "objective", "maximize", "min_trades"),
    optional=True,
)


class OptimizeModel(_OptimizeSearch):  # type: ignore[misc,valid-type]
    """`OptimizeSpec` search fields; the job's `params` are the fixed (not searched) parameters."""

    ranges: dict[str, list[Any]] | None = None
    constraints: dict[str, tuple[float | None, float | None]] | None = None

    @field_validator("ranges")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
        for name, values in (v or {}).items():
            if not values:
                raise ValueError(f"range of {name!r} is empty: list at least one value")
        return v


WalkForwardModel = section_model(WalkForwardSpec, "WalkForwardModel", only=("in_sample", "out_of_sample", "anchored"))
"""Window lengths: a bar count (250) or a span with a unit ("3Y", "18M", "26W", "90D"), as `WalkForwardSpec`."""

MonteCarloModel = section_model(MonteCarloSpec, "MonteCarloModel", optional=True)
"""`MonteCarloSpec` fields, each optional."""


class JobModel(_Strict):
    """One job after defaults (and the matrix) are applied."""

    name: str | None = None
    kind: Kind = "backtest"
    strategy: str
    symbols: list[str] = Field(min_length=1)
    start: str | None = None
    end: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    config: ConfigModel | None = None  # type: ignore[valid-type]
    data_source: str | None = None
    objective: str | None = None
    maximize: bool | None = None
    optimize: OptimizeModel | None = None
    walkforward: WalkForwardModel | None = None  # type: ignore[valid-type]
    montecarlo: MonteCarloModel | None = None  # type: ignore[valid-type]
    artifacts: bool = False

    @field_validator("symbols", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        v = expand_symbols(v)  # "watchlist: NAME" -> its symbols
        if isinstance(v, str):  # "SPY" or "SPY, QQQ"
            return [s for s in (p.strip() for p in v.split(",")) if s]
        return v

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        out = [s.strip().upper() for s in v]
        if any(not s for s in out):
            raise ValueError("a symbol is blank")
        return out

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return iso_date(v)


def iso_date(value: Any) -> Any:
    """A date (or an ISO date string such as "2020-01-31" or "20200131") as "YYYY-MM-DD"; a datetime keeps its
    time. Other types pass through (pydantic reports them); a string that is no date raises ValueError."""
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return value
    text = value.strip()
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text).isoformat()
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD")


class MatrixModel(_Strict):
    """strategies x symbol sets; every other field (kind, dates, config, ...) applies to each cell."""

    model_config = ConfigDict(extra="allow")

    strategies: list[str | dict[str, Any]] = Field(min_length=1)
    symbols: list[str | list[str]] = Field(min_length=1)


class BatchJobConfig(_Strict):
    """A batch file: `name`, `defaults` merged under every job, `jobs` and/or a `matrix`."""

    name: str | None = None
    description: str | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    jobs: list[dict[str, Any]] | None = None
    matrix: MatrixModel | None = None
    max_attempts: int | None = Field(None, ge=1, le=100)

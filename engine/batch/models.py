"""Pydantic v2 models of a batch YAML file (`BatchJobConfig`) and of one job in it.

They check structure and types (unknown fields, wrong types, values out of range) with exact locations;
`engine.batch.config` maps those locations back to YAML lines and adds the checks that need the engine
(strategy names, parameter rules, symbols). Fields left out stay unset, so the engine's own defaults apply
(`BacktestConfig`, `OptimizeSpec`, ...): these models never restate a default.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

KINDS: tuple[str, ...] = ("backtest", "optimize", "walkforward", "montecarlo")
_SPAN = re.compile(r"^\s*\d+\s*[YyMmWwDd]?\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CostsModel(_Strict):
    commission_bps: float | None = Field(None, ge=0, le=1000)
    min_commission: float | None = Field(None, ge=0)
    slippage_bps: float | None = Field(None, ge=0, le=1000)


class RiskModel(_Strict):
    max_leverage: float | None = Field(None, gt=0, le=100)
    max_position: float | None = Field(None, gt=0, le=100)
    stop_loss: float | None = Field(None, gt=0, le=1)
    take_profit: float | None = Field(None, gt=0)
    trailing_stop: float | None = Field(None, gt=0, le=1)


class ConfigModel(_Strict):
    """`BacktestConfig` fields (see engine/config.py for units and meaning)."""

    initial_cash: float | None = Field(None, gt=0)
    costs: CostsModel | None = None
    risk: RiskModel | None = None
    fill: Literal["next_open", "next_close", "same_close"] | None = None
    fractional: bool | None = None
    rebalance: Literal["on_change", "daily", "weekly", "monthly"] | None = None
    drift_threshold: float | None = Field(None, ge=0, le=10)
    cash_rate: float | None = Field(None, ge=-1, le=1)
    periods_per_year: float | None = Field(None, gt=0)
    benchmark: str | None = None


class OptimizeModel(_Strict):
    """`OptimizeSpec` search fields; the job's `params` are the fixed (not searched) parameters."""

    ranges: dict[str, list[Any]] | None = None
    method: Literal["grid", "random", "optuna"] | None = None
    n_trials: int | None = Field(None, ge=1, le=1_000_000)
    seed: int | None = None
    objective: str | None = None
    maximize: bool | None = None
    min_trades: int | None = Field(None, ge=0)
    constraints: dict[str, tuple[float | None, float | None]] | None = None

    @field_validator("ranges")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
        for name, values in (v or {}).items():
            if not values:
                raise ValueError(f"range of {name!r} is empty: list at least one value")
        return v


class WalkForwardModel(_Strict):
    """Window lengths: a bar count (250) or a span with a unit ("3Y", "18M", "26W", "90D")."""

    in_sample: int | str
    out_of_sample: int | str
    anchored: bool | None = None

    @field_validator("in_sample", "out_of_sample")
    @classmethod
    def _span(cls, v: int | str) -> int | str:
        if isinstance(v, int):
            if v <= 0:
                raise ValueError(f"{v} bars: a window needs at least one bar")
            return v
        if not _SPAN.match(v):
            raise ValueError(f"{v!r} is not a window length: use bars (250) or a span like 3Y, 18M, 26W, 90D")
        return v.strip().upper()


class MonteCarloModel(_Strict):
    method: Literal["reshuffle", "bootstrap_trades", "block_bootstrap"] | None = None
    n_sims: int | None = Field(None, ge=1, le=1_000_000)
    block_length: int | None = Field(None, ge=1)
    extra_slippage_bps: float | None = Field(None, ge=0, le=1000)
    win_rate_haircut: float | None = Field(None, ge=0, le=1)
    loss_threshold: float | None = Field(None, ge=0, le=1)
    seed: int | None = Field(None, ge=0)
    stationary: bool | None = None


class JobModel(_Strict):
    """One job after defaults (and the matrix) are applied."""

    name: str | None = None
    kind: Literal["backtest", "optimize", "walkforward", "montecarlo"] = "backtest"
    strategy: str
    symbols: list[str] = Field(min_length=1)
    start: str | None = None
    end: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    config: ConfigModel | None = None
    data_source: str | None = None
    objective: str | None = None
    maximize: bool | None = None
    optimize: OptimizeModel | None = None
    walkforward: WalkForwardModel | None = None
    montecarlo: MonteCarloModel | None = None
    artifacts: bool = False

    @field_validator("symbols", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
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

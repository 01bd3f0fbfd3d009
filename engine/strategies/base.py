"""The strategy interface: parameters as frozen dataclasses with bounds, and target weights per bar.

A strategy decides **target weights** `w[t, symbol]` (fraction of equity, negative = short) using data up to
and including the close of bar t. The simulator fills them at the next bar (DESIGN §3). Strategies never see
the future: the look-ahead audit (`engine.research.audit`) recomputes weights on truncated data to prove it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import ConfigError


def param(
    default: Any,
    low: float | None = None,
    high: float | None = None,
    step: float | None = None,
    choices: tuple[Any, ...] | None = None,
    doc: str = "",
) -> Any:
    """A `Params` field with its default and its optimization bounds (inclusive) or choices.

    [low, high] is where the optimizer searches, not a hard limit: a value given by hand may lie outside it (a
    preset with slow=600), within `ParamSpec.limits` (see LIMIT_FACTOR); a non-finite value is always refused.
    """
    return field(default=default, metadata={"low": low, "high": high, "step": step, "choices": choices, "doc": doc})


LIMIT_FACTOR = 10
"""A value given by hand may go up to LIMIT_FACTOR times the ends of its optimization range (and down to 0 when the
range starts at 0 or above): room for real choices outside the searched range, none for typos such as 1e12."""


@dataclass(frozen=True)
class ParamSpec:
    """What a UI or optimizer needs to know about one parameter."""

    name: str
    type: type
    default: Any
    low: float | None
    high: float | None
    step: float | None
    choices: tuple[Any, ...] | None
    doc: str

    @property
    def limits(self) -> tuple[float, float]:
        """The hard limits of a numeric value given by hand (inclusive): the optimization range widened by
        LIMIT_FACTOR; (-inf, inf) when no range is declared (then only finiteness is checked)."""
        low = -math.inf if self.low is None else (0.0 if self.low >= 0 else self.low * LIMIT_FACTOR)
        high = math.inf if self.high is None else (self.high * LIMIT_FACTOR if self.high > 0 else 0.0)
        return low, high

    def bounds_text(self) -> str:
        """How the limits read in an error: 'a finite int in [0, 5000]' (the type and the inclusive limits)."""
        low, high = self.limits
        where = "" if math.isinf(low) and math.isinf(high) else f" in [{low:g}, {high:g}]"
        return f"a finite {'whole number' if self.type is int else 'number'}{where}"

    def grid(self) -> list[Any]:
        """Values from low to high by step (or the choices): the default optimization grid."""
        if self.choices:
            return list(self.choices)
        if self.low is None or self.high is None:
            return [self.default]
        step = self.step or (1 if self.type is int else (self.high - self.low) / 10)
        values, v = [], self.low
        while v <= self.high + 1e-12:
            values.append(self.type(round(v, 10)) if self.type is not int else int(round(v)))
            v += step
        return values


def param_specs(params_cls: type) -> list[ParamSpec]:
    """The `ParamSpec` of every field of a `Params` dataclass, in declaration order."""
    return list(_param_specs(params_cls))


@functools.lru_cache(maxsize=256)
def _param_specs(params_cls: type) -> tuple[ParamSpec, ...]:
    """`param_specs`, computed once per class (a Params dataclass is fixed once defined)."""
    specs = []
    for f in dataclasses.fields(params_cls):
        md = f.metadata
        typ = (
            f.type
            if isinstance(f.type, type)
            else {"int": int, "float": float, "bool": bool, "str": str}.get(str(f.type), type(f.default))
        )
        specs.append(
            ParamSpec(
                f.name,
                typ,
                f.default,
                md.get("low"),
                md.get("high"),
                md.get("step"),
                md.get("choices"),
                md.get("doc", ""),
            )
        )
    return tuple(specs)


def _coerce(spec: ParamSpec, value: Any) -> Any:
    """value (a string from the CLI, or a number) as the spec's type, inside its limits; else ConfigError naming
    the parameter, the value and the limits."""
    if spec.type is bool:
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(value, str):
            raise ConfigError(f"parameter {spec.name!r}: {value!r} is not a valid bool; must be true or false")
        return bool(value)
    if spec.type not in (int, float):
        try:
            return spec.type(value)
        except (TypeError, ValueError):
            raise ConfigError(f"parameter {spec.name!r}: {value!r} is not a valid {spec.type.__name__}") from None
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    low, high = spec.limits
    if math.isnan(number) or (spec.type is int and math.isfinite(number) and not number.is_integer()):
        problem = f"is not a valid {spec.type.__name__}"
    elif not (math.isfinite(number) and low <= number <= high):
        problem = "is out of range"
    else:
        return int(number) if spec.type is int else number
    raise ConfigError(f"parameter {spec.name!r}: {value!r} {problem}; must be {spec.bounds_text()}")


def make_params(params_cls: type, values: Mapping[str, Any] | None = None) -> Any:
    """Build and validate a `Params` instance from a mapping (strings from the CLI are coerced).

    Unknown names, wrong types and values outside the hard limits raise `ConfigError` naming the field.
    Cross-field rules (e.g. fast < slow) live in the Params' `__post_init__`.
    """
    values = values or {}
    given = values.values()
    key = tuple(zip(values, map(type, given), given))  # (name, type, value): 1, 1.0 and True build differently
    params = getattr(params_cls, "__dataclass_params__", None)
    try:
        hash(key)
    except TypeError:  # an unhashable value (a list)
        params = None
    if params is None or not params.frozen:  # a mutable instance is never shared: built each time
        return _build_params(params_cls, dict(values))
    rejected = _rejected.get((params_cls, key))
    if rejected is not None:
        raise ConfigError(rejected)
    try:
        return _validated_params(params_cls, key)
    except ConfigError as e:
        if len(_rejected) >= REJECTED_KEPT:
            _rejected.clear()
        _rejected[params_cls, key] = str(e)
        raise


REJECTED_KEPT = 8192
_rejected: dict[tuple[type, tuple[tuple[str, type, Any], ...]], str] = {}
"""Why a frozen Params refused a set, by set (the message only: no traceback kept): a grid's skipped sets
(fast >= slow) are refused again by each `expand_grid` of the same ranges, at ~5x a valid set's cost."""


@functools.lru_cache(maxsize=8192)
def _validated_params(params_cls: type, key: tuple[tuple[str, type, Any], ...]) -> Any:
    """`make_params` of a frozen Params, once per distinct set: a grid validated by `expand_grid` and then by
    `run_grid` (or a preset checked on every page run) builds each set once (a refused set: `_rejected`)."""
    return _build_params(params_cls, {name: v for name, _, v in key})


def _build_params(params_cls: type, values: dict[str, Any]) -> Any:
    specs = {s.name: s for s in param_specs(params_cls)}
    unknown = sorted(set(values) - set(specs))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown}; expected some of {sorted(specs)}")
    kwargs = {name: _coerce(specs[name], v) for name, v in values.items()}
    try:
        return params_cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"invalid parameters {kwargs}: {e}") from None


PRICE_PANEL = "price"
"""The panel of a `PlotSeries` drawn over the candles (same axis as the prices)."""


@dataclass(frozen=True)
class PlotSeries:
    """One line a strategy draws on the price chart: a value per bar and symbol (same index and columns as
    `data.close`, NaN where it is undefined or the symbol has no bar), on the price axis (`panel` "price") or
    in a panel of its own below it, shared by every series naming the same panel (e.g. "RSI")."""

    values: pd.DataFrame
    panel: str = PRICE_PANEL


def require(condition: bool, message: str) -> None:
    """Raise `ConfigError(message)` unless condition holds: for Params' `__post_init__` checks."""
    if not condition:
        raise ConfigError(message)


class Strategy(ABC):
    """Base class of every strategy (built-in or a user file in the workspace's strategies folder).

    Subclasses set `name` (registry key), `Params` (a frozen dataclass built with `param`), a one-line
    `description`, and implement `target_weights`.
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    description: ClassVar[str] = ""

    def __init__(self, params: Any = None) -> None:
        if params is None:
            params = self.Params()
        elif isinstance(params, Mapping):
            params = make_params(self.Params, params)
        elif not isinstance(params, self.Params):
            raise ConfigError(
                f"{self.name}: params must be {self.Params.__name__} or a mapping, got {type(params).__name__}"
            )
        self.params = params

    @abstractmethod
    def target_weights(self, data: MarketData) -> pd.DataFrame:
        """Target weight per bar and symbol, decided with data up to and including that bar's close.

        Same index and columns as `data.close`. NaN means "no opinion" and is treated as 0 by the simulator.
        No position before every indicator the strategy uses is defined (warm-up).
        """

    def weight_values(self, data: MarketData) -> np.ndarray | None:
        """Optional fast path for the simulator: exactly `target_weights(data)`'s values as a float64 (bars,
        symbols) array in `data`'s column order, or None (the default: the simulator calls `target_weights`).

        Saves building and re-aligning a DataFrame on every backtest; a strategy that implements it derives
        `target_weights` from it, so the look-ahead audit checks the same numbers the simulator trades.
        """
        return None

    @classmethod
    def grid_weights(cls, data: MarketData, params_list: Sequence[Any]) -> list[np.ndarray] | None:
        """Optional fast path for parameter sweeps (`engine.sim.grid.run_grid`, hence optimization and
        walk-forward): one float64 (bars, symbols) array per `Params` of `params_list`, in order, each exactly
        `cls(params).target_weights(data)`'s values in `data`'s column order, or None (the default: the grid
        calls `target_weights` once per set).

        Worth it when parameter sets share work (each distinct indicator computed once for all sets); a
        subclass that overrides `target_weights` of a parent implementing this should return None, so the
        weights it trades are its own.
        """
        return None

    def stop_fractions(self, data: MarketData) -> dict[str, pd.DataFrame] | None:
        """Optional per-bar stop distances decided at bar t, as fractions of the entry price.

        Keys among "stop_loss", "take_profit", "trailing_stop"; the value at the signal bar of an entry is
        used for that whole trade. None (the default) means: use the config's scalar stops.
        """
        return None

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The strategy's own lines for the price chart (SMAs, bands, channels, an RSI...), by label.

        Each is computed as `target_weights` computes it, from the data up to each bar only (an indicator at
        bar t never reads a later bar), so the chart shows what the strategy saw when it decided. The
        default is no line; every built-in declares its own.
        """
        return {}

    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params_dict().items())
        return f"{type(self).__name__}({args})"

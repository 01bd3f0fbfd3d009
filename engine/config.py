"""Backtest configuration: frozen dataclasses, validated on construction (errors name field and value)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from engine.errors import ConfigError

Fill = Literal["next_open", "next_close", "same_close"]
Rebalance = Literal["on_change", "daily", "weekly", "monthly"]
FILLS: tuple[str, ...] = ("next_open", "next_close", "same_close")
REBALANCES: tuple[str, ...] = ("on_change", "daily", "weekly", "monthly")
OPTIMISTIC_FILL_LABEL = "same_close (optimistic: fills at the signal bar's own close)"


def _check_number(
    owner: str, name: str, value: Any, low: float | None = None, high: float | None = None, low_open: bool = False
) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise ConfigError(f"{owner}.{name}: {value!r} is not a number")
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"{owner}.{name}: {value!r} must be {'>' if low_open else '>='} {low}")
    if high is not None and value > high:
        raise ConfigError(f"{owner}.{name}: {value!r} must be <= {high}")


@dataclass(frozen=True)
class Costs:
    """Trading costs applied to every fill, rebalances included.

    commission_bps: commission in basis points of traded notional (10 = 0.1%).
    min_commission: minimum commission per order, in account currency.
    slippage_bps: each fill price moves against the trader by this many basis points.
    """

    commission_bps: float = 0.0
    min_commission: float = 0.0
    slippage_bps: float = 0.0

    def __post_init__(self) -> None:
        _check_number("costs", "commission_bps", self.commission_bps, 0, 1000)
        _check_number("costs", "min_commission", self.min_commission, 0)
        _check_number("costs", "slippage_bps", self.slippage_bps, 0, 1000)


@dataclass(frozen=True)
class Risk:
    """Position limits and stops.

    max_leverage: if sum(|w|) of a bar exceeds it, all weights of that bar are scaled down to it.
    max_position: cap on |w| per symbol, applied before the leverage scaling (None = no cap).
    stop_loss / take_profit / trailing_stop: fractions of the entry price (0.05 = 5%), checked against each
    bar's low/high after entry; None = off.
    """

    max_leverage: float = 1.0
    max_position: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None

    def __post_init__(self) -> None:
        _check_number("risk", "max_leverage", self.max_leverage, 0, 100, low_open=True)
        if self.max_position is not None:
            _check_number("risk", "max_position", self.max_position, 0, 100, low_open=True)
        for name in ("stop_loss", "trailing_stop"):
            v = getattr(self, name)
            if v is not None:
                _check_number("risk", name, v, 0, 1, low_open=True)
        if self.take_profit is not None:
            _check_number("risk", "take_profit", self.take_profit, 0, None, low_open=True)


@dataclass(frozen=True)
class BacktestConfig:
    """How a backtest is simulated (DESIGN §3). Bar timing: signals at close t, fills per `fill`.

    initial_cash: starting equity, account currency.
    fill: "next_open" (default), "next_close", or "same_close" (optimistic; only for fill-sensitivity).
    fractional: fractional units (research default) or whole units (rounded toward zero).
    rebalance: "on_change" trades a symbol only when its target weight changes; "daily"/"weekly"/"monthly"
        also bring every position back to its target at the first bar of each period, skipping symbols whose
        weight drifted by no more than `drift_threshold` (absolute weight).
    cash_rate: annual rate earned (or paid, if negative cash) on cash, compounded per bar.
    periods_per_year: bars per year, used for annualization (252 for daily equity bars).
    benchmark: symbol whose buy-and-hold equity is reported beside the strategy (None = first symbol).
    """

    initial_cash: float = 100_000.0
    costs: Costs = field(default_factory=Costs)
    risk: Risk = field(default_factory=Risk)
    fill: str = "next_open"
    fractional: bool = True
    rebalance: str = "on_change"
    drift_threshold: float = 0.0
    cash_rate: float = 0.0
    periods_per_year: float = 252.0
    benchmark: str | None = None

    def __post_init__(self) -> None:
        _check_number("config", "initial_cash", self.initial_cash, 0, low_open=True)
        if self.fill not in FILLS:
            raise ConfigError(f"config.fill: {self.fill!r} is not one of {FILLS}")
        if self.rebalance not in REBALANCES:
            raise ConfigError(f"config.rebalance: {self.rebalance!r} is not one of {REBALANCES}")
        _check_number("config", "drift_threshold", self.drift_threshold, 0, 10)
        _check_number("config", "cash_rate", self.cash_rate, -1, 1)
        _check_number("config", "periods_per_year", self.periods_per_year, 0, 1e7, low_open=True)
        if not isinstance(self.costs, Costs):
            raise ConfigError(f"config.costs must be Costs, got {type(self.costs).__name__}")
        if not isinstance(self.risk, Risk):
            raise ConfigError(f"config.risk must be Risk, got {type(self.risk).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BacktestConfig:
        """Build from a plain mapping (preset, YAML, JSON); unknown keys raise ConfigError naming them."""
        values = dict(values)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"config: unknown field(s) {unknown}; expected some of {sorted(known)}")
        costs, risk = values.pop("costs", {}) or {}, values.pop("risk", {}) or {}
        return cls(costs=_sub(Costs, costs, "costs"), risk=_sub(Risk, risk, "risk"), **values)


def _sub(cls: type, values: Any, name: str) -> Any:
    if isinstance(values, cls):
        return values
    if not isinstance(values, Mapping):
        raise ConfigError(f"{name}: expected a mapping, got {values!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{name}: unknown field(s) {unknown}; expected some of {sorted(known)}")
    return cls(**values)

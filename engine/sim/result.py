"""`BacktestResult`: everything one backtest produced, as plain pandas objects built on first access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from engine.config import BacktestConfig
from engine.metrics.registry import FINANCING_METRICS
from engine.sim.overlays import TradingStop, find_stop

TRADE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "quantity",
    "pnl",
    "return",
    "bars_held",
    "exit_reason",
)
FILL_COLUMNS: tuple[str, ...] = ("time", "symbol", "quantity", "price", "commission", "reason")
FINANCING_COLUMNS: tuple[str, ...] = tuple(m.key for m in FINANCING_METRICS)
"""The financing lines, in the kernel's column order (engine.sim.kernels.FIN_*): borrow fee and margin interest
paid, cash interest earned, in account currency; also the keys of their totals in `metrics`."""


class Deferred:
    """A field value computed on first access: `run_backtest` hands over arrays and builds each pandas
    view only when someone reads it (a grid or a benchmark reads metrics and equity only)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class _Field:
    """Attribute that resolves a `Deferred` once and keeps the value."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name]
        if isinstance(value, Deferred):
            value = obj.__dict__[self.name] = value.make()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


class BacktestResult:
    """The outcome of `run_backtest`.

    equity: account equity marked at every close (index = bars).
    returns: equity[t] / equity[t-1] - 1, with equity[-1] = initial cash (so returns[0] covers bar 0).
    weights: target weights as simulated (after caps and leverage scaling), decided at each bar's close.
    positions: units held at each close (bars x symbols). cash: cash at each close.
    trades: one row per round trip (TRADE_COLUMNS); an open trade at the end has exit_reason "open"
        and is marked at the last close. fills: every fill (FILL_COLUMNS).
    metrics: name -> value (see engine.metrics). benchmark: buy-and-hold equity of the benchmark symbol,
    benchmark_metrics: its metrics.
    stopped: where the consecutive-loss stop (config.max_consecutive_losses, engine.sim.overlays) stopped
        trading, or None; when not given it is found in the trades on first access (a stored run).
    financing: per bar, the borrow fee and margin interest paid and the cash interest earned (FINANCING_COLUMNS),
        charged at the start of each bar on the previous close's state (engine.sim.kernels); a run that charges
        or earns any also has their totals in `metrics`. None for a stored run (its totals are in its metrics).
    orders: an event run's order log (engine.sim.event.fills.ORDER_LOG_COLUMNS: placed, modified, canceled,
        expired, rejected and filled events with type and prices); None for a vectorized run.
    Any field may be given as a `Deferred`; it is computed when first read.
    """

    equity = _Field()
    returns = _Field()
    cash = _Field()
    weights = _Field()
    positions = _Field()
    trades = _Field()
    fills = _Field()
    metrics = _Field()
    benchmark = _Field()
    benchmark_metrics = _Field()
    stopped = _Field()
    financing = _Field()
    orders = _Field()

    def __init__(
        self,
        config: BacktestConfig,
        strategy: str,
        params: dict[str, Any],
        symbols: list[str],
        equity: pd.Series | Deferred,
        returns: pd.Series | Deferred,
        cash: pd.Series | Deferred,
        weights: pd.DataFrame | Deferred,
        positions: pd.DataFrame | Deferred,
        trades: pd.DataFrame | Deferred,
        fills: pd.DataFrame | Deferred,
        metrics: dict[str, float] | Deferred,
        benchmark: pd.Series | Deferred | None = None,
        benchmark_metrics: dict[str, float] | Deferred | None = None,
        stopped: TradingStop | Deferred | None = None,
        financing: pd.DataFrame | Deferred | None = None,
        orders: pd.DataFrame | Deferred | None = None,
    ) -> None:
        self.config, self.strategy, self.params, self.symbols = config, strategy, params, symbols
        self.equity, self.returns, self.cash = equity, returns, cash
        self.weights, self.positions, self.trades, self.fills = weights, positions, trades, fills
        self.metrics, self.benchmark = metrics, benchmark
        self.benchmark_metrics = {} if benchmark_metrics is None else benchmark_metrics
        limit = config.max_consecutive_losses
        if stopped is None and limit is not None:
            stopped = Deferred(lambda: find_stop(self.trades, limit, self.equity.index, self.symbols, config.fill))
        self.stopped = stopped
        self.financing = financing
        self.orders = orders

    FIELDS: tuple[str, ...] = (  # every field a backtest produces (pickling and batch outputs read them all)
        "equity",
        "returns",
        "cash",
        "weights",
        "positions",
        "trades",
        "fills",
        "metrics",
        "benchmark",
        "benchmark_metrics",
        "stopped",
        "financing",
        "orders",
    )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (process pools, Dask) with every deferred field computed: closures do not pickle."""
        for name in self.FIELDS:
            getattr(self, name)
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def warnings(self) -> list[str]:
        """Things about this run the user should know, one line each (e.g. a data gap); callers append to it and
        the run store keeps it."""
        return self.__dict__.setdefault("warnings", [])

    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"BacktestResult({self.strategy} {self.params} on {self.symbols}: final_equity="
            f"{m.get('final_equity', float('nan')):.2f}, n_trades={m.get('n_trades', 0):.0f})"
        )

"""Fill and cost sensitivity: how much of a backtest's edge depends on when it fills and what it pays.

- `fill_sensitivity`: the same strategy and data under the three fill conventions of DESIGN §3:
  "same_close" (OPTIMISTIC: fills at the close of the very bar whose close made the decision; not tradable,
  only the upper end of the comparison), "next_open" (the default) and "next_close".
- `breakeven_commission`: the commission, in basis points of traded notional per fill, at which the edge is
  gone (total return, or another metric, reaches 0), found by bisection over single backtests with the
  request's own slippage and other costs kept.

Both load the data and build the strategy once, then call `run_backtest` per configuration (a parameter
grid cannot vary the config, so `engine.sim.grid.run_grid` does not apply; each run takes milliseconds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from engine.config import OPTIMISTIC_FILL_LABEL, BacktestConfig, Fill
from engine.data.frequency import annualized_config
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.metrics import registry
from engine.request import BacktestRequest, request_data
from engine.sim.result import BacktestResult
from engine.sim.simulate import run_backtest
from engine.strategies.base import Strategy
from engine.strategies.registry import create_strategy

FILL_ORDER: tuple[Fill, ...] = ("same_close", "next_open", "next_close")
FILL_LABELS: dict[str, str] = {
    "same_close": OPTIMISTIC_FILL_LABEL,
    "next_open": "next_open (default: the open after the signal bar)",
    "next_close": "next_close (the close after the signal bar)",
}
KEY_METRICS: tuple[str, ...] = registry.KEY_METRICS
MAX_COMMISSION_BPS = 1000.0  # the bound of Costs.commission_bps


def _prepare(request: BacktestRequest, data: MarketData | None) -> tuple[MarketData, Strategy]:
    strategy = create_strategy(request.strategy, request.params)
    if data is None:
        data = request_data(request)  # at the request's timeframe
    return data, strategy


def fill_sensitivity(request: BacktestRequest, *, data: MarketData | None = None) -> pd.DataFrame:
    """The request's backtest under each fill convention, one row per fill.

    Returns:
        A DataFrame indexed by fill ("same_close", "next_open", "next_close") with a `label` column (the
        same_close row says it is optimistic), a `tradable` flag and KEY_METRICS (fractions, annualized CAGR
        and Sharpe as in engine.metrics). `data` may be passed to reuse already-loaded bars.
    """
    data, strategy = _prepare(request, data)
    config = annualized_config(request.config, data.index)  # intraday: the data's bars per year, as run_request
    rows = []
    for fill in FILL_ORDER:
        result = run_backtest(data, strategy, replace(config, fill=fill))
        rows.append(
            {
                "fill": fill,
                "label": FILL_LABELS[fill],
                "tradable": fill != "same_close",
                **{m: float(result.metrics.get(m, math.nan)) for m in KEY_METRICS},
            }
        )
    return pd.DataFrame(rows).set_index("fill")


def breakeven_commission(
    request: BacktestRequest,
    *,
    metric: str = "total_return",
    tolerance_bps: float = 0.01,
    data: MarketData | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> float:
    """Commission (bps of traded notional per fill) at which `metric` of the request's backtest reaches 0.

    The request's commission is replaced (its slippage and minimum commission are kept); the metric is
    taken as decreasing in the commission and the root is bracketed in [0, 1000] bps, then bisected to
    `tolerance_bps`. Returns 0.0 when the metric is already <= 0 without commission (no edge to lose) and
    inf when it stays > 0 even at 1000 bps (e.g. a buy-and-hold that trades once). should_stop() -> True
    before a backtest cancels with ConfigError("cancelled").
    """
    if not (isinstance(tolerance_bps, (int, float)) and tolerance_bps > 0):
        raise ConfigError(f"tolerance_bps: {tolerance_bps!r} must be a positive number")
    data, strategy = _prepare(request, data)

    def value(bps: float) -> float:
        if should_stop is not None and should_stop():
            raise ConfigError("cancelled")
        result: BacktestResult = run_backtest(data, strategy, config_with_commission(request.config, bps))
        if metric not in result.metrics:
            raise ConfigError(
                f"breakeven_commission: unknown metric {metric!r}; choose one of {sorted(result.metrics)}"
            )
        v = float(result.metrics[metric])
        if math.isnan(v):
            raise ConfigError(
                f"breakeven_commission: {metric} is undefined (NaN) at {bps:g} bps; "
                "choose total_return or a strategy that trades"
            )
        return v

    return _bisect_root(value, 0.0, MAX_COMMISSION_BPS, tolerance_bps)


def _bisect_root(f: Callable[[float], float], low: float, high: float, tolerance: float) -> float:
    """Root of a decreasing f on [low, high] by bisection: low if f(low) <= 0, inf if f(high) > 0."""
    if f(low) <= 0:
        return low
    # Bracket with a few cheap steps first (most edges die well below the 1000 bps bound).
    hi = min(high, max(tolerance * 16, 8.0))
    lo = low
    while f(hi) > 0:
        if hi >= high:
            return math.inf
        lo, hi = hi, min(high, hi * 4)
    while hi - lo > tolerance:
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def config_with_commission(config: BacktestConfig, bps: float) -> BacktestConfig:
    """`config` with its commission replaced by `bps` (basis points of traded notional per fill)."""
    return replace(config, costs=replace(config.costs, commission_bps=float(bps)))

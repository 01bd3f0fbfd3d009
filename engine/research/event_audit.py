"""Look-ahead audit of an event strategy: the orders it sends up to bar t must not change when the bars after t
are cut off.

Method (as engine.research.audit for weights): run the event backtest on the full data, then on `data.head(n)` for
many n, each with a fresh instance of the strategy, and compare every order event (placed, modified, canceled,
expired, rejected, filled: time, order type, side, quantity, limit, stop, fill price and quantity) of the
truncated run with the full run's events up to its last bar. A causal strategy gives the same events; the first
that differs is reported with both values. What the context shows is guarded already (engine.sim.event.context:
no future index, higher timeframes only once closed); this audit checks the strategy's own indicator functions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import EngineError, StrategyError
from engine.research.audit import AuditReport, audit_points
from engine.sim.event.run import run_event_backtest
from engine.strategies.events import EventStrategy

COMPARED = ("event", "type", "side", "quantity", "limit_price", "stop_price", "fill_price", "fill_quantity")
TOLERANCE = 1e-9


def audit_event_lookahead(
    make: Callable[[], EventStrategy], data: MarketData, config: BacktestConfig | None = None, n_checks: int = 20
) -> AuditReport:
    """Audit the strategy `make()` builds (a fresh instance per run: strategies keep state) on `data`."""
    config = config or BacktestConfig()
    full = _events(make, data, config, len(data))
    points = audit_points(len(data), n_checks, min_bars=2)
    first: tuple[int, int, str, float, float] | None = None  # (event row, n, field, full value, truncated value)
    for n in points:
        trunc = _events(make, data, config, n)
        mine = full[full["bar"] <= n - 1].reset_index(drop=True)
        found = _first_difference(mine, trunc)
        if found is not None and (first is None or found[0] < first[0]):
            first = (found[0], n, found[1], found[2], found[3])
    strategy = make()
    if first is None:
        return AuditReport(strategy.name, strategy.params_dict(), len(points), None, None, None, None, True,
                           output="orders", n_bars=len(data), points=tuple(points))  # fmt: skip
    row, n, field, full_value, truncated_value = first
    where = full.iloc[row] if row < len(full) else None
    return AuditReport(
        strategy=strategy.name,
        params=strategy.params_dict(),
        checked_points=len(points),
        first_mismatch=data.index[int(where["bar"])] if where is not None else data.index[n - 1],
        symbol=str(where["symbol"]) if where is not None else None,
        full_value=full_value,
        truncated_value=truncated_value,
        passed=False,
        output=f"orders.{field}",
        truncated_at=data.index[n - 1],
        n_bars=len(data),
        points=tuple(points),
    )


def _events(make: Callable[[], EventStrategy], data: MarketData, config: BacktestConfig, n: int) -> pd.DataFrame:
    part = data if n == len(data) else data.head(n)
    try:
        orders = run_event_backtest(part, make(), config).orders
    except EngineError as e:
        raise StrategyError(f"event strategy failed on the first {n} bars (up to {data.index[n - 1]}): {e}") from e
    frame = orders.copy()
    frame.insert(0, "bar", data.index.get_indexer(frame["time"]))
    return frame.reset_index(drop=True)


def _first_difference(full: pd.DataFrame, trunc: pd.DataFrame) -> tuple[int, str, float, float] | None:
    """(row, field, full value, truncated value) of the first event that differs; a missing row counts."""
    for i in range(max(len(full), len(trunc))):
        if i >= len(full) or i >= len(trunc):
            return i, "count", float(len(full)), float(len(trunc))
        a, b = full.iloc[i], trunc.iloc[i]
        for name in ("bar", *COMPARED):
            x, y = a[name], b[name]
            if isinstance(x, str) or isinstance(y, str):
                if x != y:
                    return i, name, float("nan"), float("nan")
            elif not ((np.isnan(x) and np.isnan(y)) or abs(x - y) <= TOLERANCE + TOLERANCE * abs(x)):
                return i, name, float(x), float(y)
    return None

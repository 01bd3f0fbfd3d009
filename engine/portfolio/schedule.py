"""Re-optimization on a schedule with a lookback: the weights held from bar t to the next rebalance are
optimized on the returns of the `lookback` bars ending at t (closes up to t's close, never later), decided at
t's close and filled by the simulator at the next bar, like every strategy's weights.

Rebalance bars: every `every` bars from the first bar with a full lookback, or (every = 0) the first bar of
each calendar month with a full lookback. A symbol enters a window only with a close on every bar of it
(closes are carried over bars where another symbol trades, e.g. weekends beside crypto); one without is
weight 0 until it has. Before the first rebalance every weight is 0.

Allocations are memoized on the window's contents (a digest of its returns), the method and its settings: a
truncated history (the look-ahead audit) or a parameter grid that meets the same window again reuses it. Equal
weights without a binding constraint are computed, not memoized (1/n costs less than the digest). The returns
are one numpy array; each window is a slice of it (engine.portfolio.optimizers.allocate_array).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from threading import Lock

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.portfolio.constraints import Constraints, Cut, betas_array, correlation_filter
from engine.portfolio.optimizers import Allocation, allocate_array

CACHE_SIZE = 4096
_cache: OrderedDict[tuple[object, ...], Allocation] = OrderedDict()
_lock = Lock()


@dataclass(frozen=True)
class Rebalance:
    """One re-optimization: its bar, the symbols in its window, the allocation (cuts include the
    correlation filter's)."""

    time: pd.Timestamp
    symbols: tuple[str, ...]
    allocation: Allocation


def rebalance_rows(index: pd.Index, every: int, lookback: int) -> np.ndarray:
    """Row positions of the rebalance bars (see the module docstring)."""
    n = len(index)
    if every < 0 or lookback < 2:
        raise ConfigError(f"rebalance every {every} bars with lookback {lookback}: need every >= 0, lookback >= 2")
    if every > 0:
        return np.arange(lookback, n, every)
    if not isinstance(index, pd.DatetimeIndex):
        raise ConfigError(f"monthly rebalancing needs timestamps; this data has a {type(index).__name__}")
    months = index.to_period("M").asi8
    first = np.flatnonzero(np.r_[False, months[1:] != months[:-1]])
    return first[first >= lookback]


def _key(window: np.ndarray, names: tuple[str, ...], *settings: object) -> tuple[object, ...]:
    digest = hashlib.sha256(window.tobytes()).hexdigest()  # twice blake2b's speed here
    return (digest, names, *settings)


def _memo(key: tuple[object, ...], compute: Callable[[], Allocation]) -> Allocation:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _allocate_window(
    values: np.ndarray,
    names: tuple[str, ...],
    held: tuple[str, ...],
    method: str,
    constraints: Constraints,
    shrinkage: bool,
    benchmark: str | None,
) -> Allocation:
    """The allocation of one window (returns `values`, columns `names`): the correlation filter, then the
    optimizer on the symbols it admits (betas vs `benchmark` when the constraints limit beta)."""
    beta = None
    if constraints.beta_max is not None:
        if benchmark not in names:
            raise ConfigError(f"beta limit: the benchmark {benchmark!r} has no close on every bar of the window")
        beta = betas_array(values, values[:, names.index(benchmark)])
    if constraints.max_correlation is None:
        return allocate_array(method, values, names, constraints, shrinkage=shrinkage, beta=beta)
    window = pd.DataFrame(values, columns=pd.Index(names, dtype=object))
    allowed, excluded = correlation_filter(window, held, constraints.max_correlation)
    keep = [names.index(s) for s in allowed]
    result = allocate_array(
        method,
        values[:, keep],
        tuple(allowed),
        constraints,
        shrinkage=shrinkage,
        beta=beta[keep] if beta is not None else None,
    )
    weights = np.zeros(len(names))
    weights[keep] = result.values
    return Allocation(names, weights, [*excluded, *result.cuts], result.notes)


def rolling_allocations(
    close: pd.DataFrame,
    method: str,
    lookback: int,
    every: int,
    constraints: Constraints,
    *,
    shrinkage: bool = True,
    benchmark: str | None = None,
) -> tuple[pd.DataFrame, list[Rebalance]]:
    """(weights per bar and symbol, the rebalances) of `method` re-optimized on `close` (see module docstring).

    benchmark: the column of `close` betas are measured against (needed when constraints.beta_max is set)."""
    if constraints.beta_max is not None and benchmark not in close.columns:
        raise ConfigError(f"beta limit: the benchmark {benchmark!r} is not among the symbols {list(close.columns)}")
    returns = close.ffill().pct_change(fill_method=None).to_numpy(dtype="float64")
    symbols = np.array([str(c) for c in close.columns], dtype=object)
    values = np.zeros(close.shape)
    rebalances: list[Rebalance] = []
    held: tuple[str, ...] = ()
    rows = rebalance_rows(close.index, every, lookback)
    settings = (method, lookback, repr(constraints), shrinkage, benchmark)
    trivial = method == "equal_weight" and not constraints.binds() and constraints.max_correlation is None
    for k, t in enumerate(rows):
        window = returns[t - lookback + 1 : t + 1]
        complete = ~np.isnan(window).any(axis=0)
        # column-major, as a DataFrame holds it: the same float summation order as allocate() on the window's
        # frame (Clarabel's risk parity moves ~1e-5 with the covariance's last bit)
        window, names = np.asfortranarray(window[:, complete]), tuple(symbols[complete])
        job = partial(_allocate_window, window, names, held, method, constraints, shrinkage, benchmark)
        try:  # 1/n costs less than the memo's digest of the window: computed, not memoized
            allocation = job() if trivial else _memo(_key(window, names, *settings, held), job)
        except ConfigError as e:
            raise ConfigError(f"rebalance at {close.index[t]}: {e}") from None
        end = rows[k + 1] if k + 1 < len(rows) else len(close)
        weights = allocation.values
        values[t:end, np.flatnonzero(complete)] = weights
        if constraints.max_correlation is not None:  # only the correlation filter reads what is held
            held = tuple(s for s, w in zip(names, weights, strict=True) if abs(w) > 1e-9)
        rebalances.append(Rebalance(pd.Timestamp(close.index[t]), names, allocation))
    return pd.DataFrame(values, index=close.index, columns=close.columns), rebalances


def cuts_frame(rebalances: list[Rebalance]) -> pd.DataFrame:
    """Every cut of every rebalance: time, symbol, unconstrained weight, final weight, constraint."""
    rows = [(r.time, c.symbol, c.unconstrained, c.weight, c.constraint) for r in rebalances for c in r.allocation.cuts]
    return pd.DataFrame(rows, columns=["time", "symbol", "unconstrained", "weight", "constraint"])


__all__ = ["Cut", "Rebalance", "cuts_frame", "rebalance_rows", "rolling_allocations"]

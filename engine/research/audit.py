"""Look-ahead audit: prove a strategy's weights at bar t depend on bars 0..t only.

Method: compute the weights (and `stop_fractions`, when the strategy has them) on the full data, then again
on `data.head(n)` for many n — spread evenly over the history plus the last few bars — and compare each
truncated run with the first n rows of the full run. A causal strategy gives identical values (NaN equals
NaN; tolerance 1e-9 absolute + 1e-9 relative). The earliest bar where any truncated run disagrees is
reported. When a check fails, the gap between the last passing and the first failing truncation point is
bisected to find the earliest truncation that already disagrees (exact for leaks that, once they start,
stay — e.g. `close.shift(-1)`); every reported bar is a real disagreement either way.

Strategies are called through `engine.strategies.boundary.call_strategy`, as the simulator calls them: an
exception raised inside a user strategy becomes a StrategyError naming the strategy, its file and line.

A strategy that reads the prices itself (the CSV, a database, the network) instead of the data it is given
would pass the comparison unchecked. So a user strategy is audited in one sandbox child that records what
its code reads from outside the engine (`engine.strategies.watch`: Python audit hooks, from the import of
its file to its last call); any such read makes the report "not verifiable: reads data outside the engine:
<path>", and the audit fails. Built-in strategies are ours and are audited in process.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.errors import EngineError, StrategyError
from engine.strategies.base import Strategy
from engine.strategies.boundary import call_strategy
from engine.strategies.registry import validate_weights
from engine.strategies.sandbox import call_watched
from engine.strategies.user_code import UserStrategy

TOLERANCE = 1e-9


@dataclass(frozen=True)
class AuditReport:
    """Outcome of `audit_lookahead`.

    first_mismatch: the earliest bar (timestamp) where a truncated run disagreed with the full run, or None.
    symbol / output / full_value / truncated_value: where and what (output is "weights" or a stop key such
    as "stop_loss"). truncated_at: the last bar of the truncated run that showed the mismatch.
    checked_points: how many truncated runs were compared.
    reads_outside: what the strategy read from outside the engine while it ran (files, databases, network),
    in order; not empty means the audit cannot vouch for it (passed is False).
    """

    strategy: str
    params: dict[str, Any]
    checked_points: int
    first_mismatch: pd.Timestamp | None
    symbol: str | None
    full_value: float | None
    truncated_value: float | None
    passed: bool
    output: str | None = None
    truncated_at: pd.Timestamp | None = None
    n_bars: int = 0
    points: tuple[int, ...] = field(default=(), repr=False)
    reads_outside: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a terminal or a page."""
        if self.reads_outside:
            more = len(self.reads_outside) - 1
            also = f" (and {more} more)" if more else ""
            return f"{self.strategy}: NOT VERIFIABLE - reads data outside the engine: {self.reads_outside[0]}{also}"
        if self.passed:
            return (
                f"{self.strategy}: PASSED - {self.checked_points} truncated runs over {self.n_bars} bars "
                f"agree with the full run"
            )
        return (
            f"{self.strategy}: FAILED - look-ahead at {self.first_mismatch} ({self.symbol}, {self.output}): "
            f"full run {self.full_value!r}, run truncated at {self.truncated_at} {self.truncated_value!r}"
        )


@dataclass(frozen=True)
class _Mismatch:
    row: int
    column: int
    output: str
    full_value: float
    truncated_value: float
    n: int


def _outputs(strategy: Strategy, data: MarketData) -> dict[str, pd.DataFrame]:
    out = {"weights": validate_weights(strategy, data, call_strategy(strategy, "target_weights", data))}
    stops = call_strategy(strategy, "stop_fractions", data)
    for key, frame in (stops or {}).items():
        if not isinstance(frame, pd.DataFrame) or frame.shape != data.close.shape:
            raise StrategyError(
                f"strategy {strategy.name!r}: stop_fractions[{key!r}] must be a DataFrame shaped like the data "
                f"{data.close.shape}, got {getattr(frame, 'shape', type(frame).__name__)}"
            )
        out[key] = frame
    return out


def _first_mismatch(full: dict[str, pd.DataFrame], trunc: dict[str, pd.DataFrame], n: int) -> _Mismatch | None:
    best: _Mismatch | None = None
    for key, frame in full.items():
        a = frame.iloc[:n].to_numpy(dtype="float64")
        if key not in trunc:
            cand = _Mismatch(n - 1, 0, key, float(a[n - 1, 0]), float("nan"), n)
        else:
            b = trunc[key].to_numpy(dtype="float64")
            with np.errstate(invalid="ignore"):
                same = (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= TOLERANCE + TOLERANCE * np.abs(a))
            bad = ~same
            if not bad.any():
                continue
            r = int(np.argmax(bad.any(axis=1)))
            c = int(np.argmax(bad[r]))
            cand = _Mismatch(r, c, key, float(a[r, c]), float(b[r, c]), n)
        if best is None or cand.row < best.row:
            best = cand
    extra = sorted(set(trunc) - set(full))
    if extra and (best is None or n - 1 < best.row):
        best = _Mismatch(n - 1, 0, extra[0], float("nan"), float(trunc[extra[0]].iloc[n - 1, 0]), n)
    return best


def audit_points(n_bars: int, n_checks: int, min_bars: int) -> list[int]:
    """Truncation points: `n_checks` spread from `min_bars` to the second-to-last bar, plus the last five bars."""
    if n_bars - 1 < min_bars:
        return []
    spread = np.linspace(min_bars, n_bars - 1, max(n_checks, 2)).round().astype(int)
    tail = range(max(min_bars, n_bars - 5), n_bars)
    return sorted(set(int(v) for v in spread) | set(tail))


def audit_lookahead(
    strategy: Strategy,
    data: MarketData,
    n_checks: int = 40,
    min_bars: int | None = None,
    refine: bool = True,
) -> AuditReport:
    """Recompute `strategy` on data truncated at many points and report the first bar that disagrees.

    Args:
        strategy: the strategy instance (its params are part of the report).
        data: the bars to audit on (all symbols).
        n_checks: truncation points spread evenly from `min_bars` to the second-to-last bar; the last five
            bars are always checked too.
        min_bars: the shortest truncation (default 1 bar: the warm-up path is audited as well).
        refine: bisect between the last passing and the first failing point for the earliest failure.

    Raises:
        StrategyError: the strategy returned unusable output or failed on a truncated history.
    """
    if isinstance(strategy, UserStrategy):
        report, reads = call_watched(
            type(strategy).code, audit_in_child, strategy.params_dict(), data, n_checks, min_bars, refine
        )
        if reads:
            return replace(report, passed=False, reads_outside=tuple(dict.fromkeys(reads)))
        return report
    n_bars = len(data)
    min_bars = 1 if min_bars is None else int(min_bars)
    if min_bars < 1:
        raise StrategyError(f"min_bars must be >= 1, got {min_bars}")
    full = _outputs(strategy, data)

    checked: list[int] = []
    results: dict[int, _Mismatch | None] = {}

    def check(n: int) -> _Mismatch | None:
        if n not in results:
            try:
                trunc = _outputs(strategy, data.head(n))
            except EngineError as e:
                raise StrategyError(
                    f"strategy {strategy.name!r} failed on the first {n} bars (up to {data.index[n - 1]}): {e}"
                ) from e
            results[n] = _first_mismatch(full, trunc, n)
            checked.append(n)
        return results[n]

    points = audit_points(n_bars, n_checks, min_bars)
    for n in points:
        check(n)

    failing = [n for n in points if results[n] is not None]
    if failing and refine:
        lo = max([n for n in points if n < failing[0]], default=min_bars - 1)
        hi = failing[0]
        while hi - lo > 1:  # invariant: hi fails; lo passes (or is below min_bars)
            mid = (lo + hi) // 2
            if check(mid) is None:
                lo = mid
            else:
                hi = mid

    found = [m for m in results.values() if m is not None]
    params = strategy.params_dict()
    if not found:
        return AuditReport(
            strategy.name,
            params,
            len(checked),
            None,
            None,
            None,
            None,
            True,
            n_bars=n_bars,
            points=tuple(sorted(checked)),
        )
    first = min(found, key=lambda m: (m.row, m.n))
    return AuditReport(
        strategy=strategy.name,
        params=params,
        checked_points=len(checked),
        first_mismatch=data.index[first.row],
        symbol=str(data.close.columns[first.column]),
        full_value=first.full_value,
        truncated_value=first.truncated_value,
        passed=False,
        output=first.output,
        truncated_at=data.index[first.n - 1],
        n_bars=n_bars,
        points=tuple(sorted(checked)),
    )


def audit_in_child(
    cls: type[Strategy], params: dict[str, Any], data: MarketData, n_checks: int, min_bars: int | None, refine: bool
) -> AuditReport:
    """`audit_lookahead` of the user's own class, run in the sandbox child that watches what it reads."""
    return audit_lookahead(cls(params), data, n_checks=n_checks, min_bars=min_bars, refine=refine)

"""Workloads W1-W7 as data: inputs, reference results, the rule-7 metrics, checks, and the numpy floor.

Everything here is engine-neutral (numpy/pandas only) so every engine is judged by the same code. Exact
definitions: ../shared/bench/WORKLOADS.md ("Common rules" 1-7). Units: money in account currency, returns
and drawdowns in percent, Sharpe annualized with sqrt(252) on per-bar returns (r[0] = equity[0]/cash - 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CASH = 100_000.0
FAST, SLOW = 10, 50
FEE_W2 = 0.001
TIE_REL = 1e-9
W3_FAST, W3_SLOW = range(5, 55, 5), range(20, 220, 20)  # 90 cells after skipping fast >= slow
W6_FAST, W6_SLOW = range(2, 101, 2), range(10, 501, 10)  # 50 x 50, minus fast >= slow
W5_SYMBOL, W5_BARS, W7_BARS = "HD", 1_000_000, (1_000_000, 10_000_000)
GRID_SYMBOL = "SPY"


@dataclass(frozen=True)
class Outcome:
    """What one backtest produced, in WORKLOADS rule-7 terms (percentages as percent, not fractions)."""

    final: float
    total_return_pct: float
    trades: int
    max_dd_pct: float
    sharpe: float
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def short(self) -> str:
        return (
            f"final {self.final:,.2f}, return {self.total_return_pct:.4f} %, {self.trades} trades, "
            f"max DD {self.max_dd_pct:.4f} %, Sharpe {self.sharpe:.4f}"
        )


@dataclass(frozen=True)
class GridOutcome:
    """A parameter grid's answer: how many cells ran, the best (fast, slow) by total return and by Sharpe."""

    count: int
    best_return: tuple[int, int]
    best_return_pct: float
    best_sharpe: tuple[int, int]
    best_sharpe_value: float
    skipped: int = 0

    def short(self) -> str:
        return (
            f"{self.count} backtests; best by return {self.best_return} {self.best_return_pct:.2f} %; "
            f"best by Sharpe {self.best_sharpe} {self.best_sharpe_value:.4f}"
        )


# Reference results (WORKLOADS.md), printed there to the precision kept here: a value counts as reproduced
# when it is within one unit of the last printed digit.
REFERENCE: dict[str, Outcome] = {
    "W1": Outcome(839_252.60, 739.2526, 104, -28.5814, 0.6091),
    "W2": Outcome(682_329.15, 582.3292, 104, -29.4939, 0.5555),
    "W4": Outcome(1_492_683.85, 1392.6839, 3229, -16.6415, 0.9199),
}
W3_REFERENCE = GridOutcome(90, (45, 200), 2258.85, (10, 200), 0.8142)
TOLERANCE = {"final": 0.01, "total_return_pct": 1e-4, "max_dd_pct": 1e-4, "sharpe": 1e-4}
W3_TOLERANCE = {"best_return_pct": 0.01, "best_sharpe_value": 1e-4}


# ---------------------------------------------------------------------------------------------- inputs


def read_frame(path: Path) -> pd.DataFrame:
    """One `<SYMBOL>.csv` (date, open, high, low, close, volume) as float64 columns on a DatetimeIndex."""
    df = pd.read_csv(path, index_col="date", parse_dates=True)
    df = df[["open", "high", "low", "close", "volume"]].astype("float64")
    if not df.index.is_monotonic_increasing:
        raise ValueError(f"{path}: dates are not sorted ascending")
    return df


def load_frames(data_dir: Path, symbols: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every (or the given) symbol's bars from `data_dir`, sorted by symbol name (W4's symbol order)."""
    data_dir = Path(data_dir)
    names = symbols or sorted(p.stem.upper() for p in data_dir.glob("*.csv"))
    if not names:
        raise FileNotFoundError(f"no <SYMBOL>.csv files in {data_dir}")
    return {s: read_frame(data_dir / f"{s}.csv") for s in sorted(names)}


def scaled_series(base: pd.DataFrame, n_bars: int) -> pd.DataFrame:
    """W5's long series: `base` geometrically detrended, tiled end to end, cut to `n_bars`, integer index.

    P'[t] = P[t] * exp(-g t) with g = ln(close[L-1] / close[0]) / (L-1), applied to open/high/low/close, so
    the last close equals the first and each copy starts where the previous one ended (levels stay bounded).
    Volume is tiled unchanged.
    """
    close = base["close"].to_numpy()
    length = len(close)
    g = math.log(close[-1] / close[0]) / (length - 1)
    factor = np.exp(-g * np.arange(length))
    reps = -(-n_bars // length)
    cols = {}
    for name in ("open", "high", "low", "close"):
        cols[name] = np.tile(base[name].to_numpy() * factor, reps)[:n_bars]
    cols["volume"] = np.tile(base["volume"].to_numpy(), reps)[:n_bars]
    return pd.DataFrame(cols, index=pd.RangeIndex(n_bars))


# ---------------------------------------------------------------------------------------------- metrics


def rule7(equity: np.ndarray, trades: int, cash: float = CASH, **extra: Any) -> Outcome:
    """WORKLOADS rule 7 on an equity curve marked at every close (r[0] = equity[0] / cash - 1)."""
    equity = np.asarray(equity, dtype="float64")
    prev = np.concatenate(([cash], equity[:-1]))
    r = equity / prev - 1.0
    return Outcome(
        final=float(equity[-1]),
        total_return_pct=float((equity[-1] / cash - 1.0) * 100.0),
        trades=int(trades),
        max_dd_pct=float((equity / np.maximum.accumulate(equity) - 1.0).min() * 100.0),
        sharpe=float(r.mean() / r.std(ddof=1) * math.sqrt(252.0)),
        extra=extra,
    )


def best_of_grid(
    pairs: list[tuple[int, int]], total_return_pct: np.ndarray, sharpe: np.ndarray, skipped: int = 0
) -> GridOutcome:
    """The grid answer from per-cell total returns (%) and Sharpe ratios (first maximum wins)."""
    i, j = int(np.argmax(total_return_pct)), int(np.argmax(sharpe))
    return GridOutcome(
        len(pairs), tuple(pairs[i]), float(total_return_pct[i]), tuple(pairs[j]), float(sharpe[j]), skipped
    )


def grid_pairs(fast: range, slow: range) -> tuple[list[tuple[int, int]], int]:
    """(fast, slow) cells with fast < slow, in fast-major order, and how many were skipped."""
    pairs = [(f, s) for f in fast for s in slow if f < s]
    return pairs, len(fast) * len(slow) - len(pairs)


def sum_sleeves(curves: Mapping[str, pd.Series], index: pd.Index, cash_each: float) -> np.ndarray:
    """W4 sleeves: per-symbol equity curves on the union index, forward-filled, `cash_each` before listing."""
    total = np.zeros(len(index))
    for curve in curves.values():
        total += curve.reindex(index).ffill().fillna(cash_each).to_numpy()
    return total


# ---------------------------------------------------------------------------------------------- checks


def check_reference(workload: str, outcome: Outcome | GridOutcome) -> list[str]:
    """Differences from the WORKLOADS reference (empty = reproduced). Each line names the number that was off."""
    problems = []
    if isinstance(outcome, GridOutcome):
        ref = W3_REFERENCE
        if outcome.count != ref.count:
            problems.append(f"{workload}: {outcome.count} backtests, expected {ref.count}")
        for name in ("best_return", "best_sharpe"):
            if getattr(outcome, name) != getattr(ref, name):
                problems.append(f"{workload}: {name} = {getattr(outcome, name)}, expected {getattr(ref, name)}")
        for name, tol in W3_TOLERANCE.items():
            ours, theirs = getattr(outcome, name), getattr(ref, name)
            if not abs(ours - theirs) <= tol:
                problems.append(f"{workload}: {name} = {ours:.6f}, expected {theirs} (+-{tol})")
        return problems
    ref = REFERENCE[workload]
    if outcome.trades != ref.trades:
        problems.append(f"{workload}: trades = {outcome.trades}, expected {ref.trades}")
    for name, tol in TOLERANCE.items():
        ours, theirs = getattr(outcome, name), getattr(ref, name)
        if not abs(ours - theirs) <= tol:
            problems.append(f"{workload}: {name} = {ours:.6f}, expected {theirs} (+-{tol})")
    return problems


def check_agreement(
    workload: str,
    name_a: str,
    a: Outcome,
    name_b: str,
    b: Outcome,
    rel: float = 1e-9,
    fields: tuple[str, ...] = ("final", "trades"),
) -> list[str]:
    """Two engines' outcomes agree to `rel` relative (trades exactly). Used where no reference exists."""
    problems = []
    for f in fields:
        x, y = getattr(a, f), getattr(b, f)
        ok = x == y if f == "trades" else abs(x - y) <= rel * max(abs(x), abs(y), 1e-300)
        if not ok:
            problems.append(f"{workload}: {f} {name_a} = {x!r} vs {name_b} = {y!r} (allowed relative {rel:g})")
    return problems


# ---------------------------------------------------------------------------------------------- the oracle


def sma(close: np.ndarray, window: int) -> np.ndarray:
    """Arithmetic mean of the last `window` closes (rule 1), NaN for the first window-1 bars (cumulative sums)."""
    out = np.full(close.shape[0], np.nan)
    if window <= close.shape[0]:
        cs = np.concatenate(([0.0], np.cumsum(close)))
        out[window - 1 :] = (cs[window:] - cs[:-window]) / window
    return out


def crossings(fast_ma: np.ndarray, slow_ma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rules 2-3: (cross_up, cross_down) booleans at the signal bar, with the tie rule |f - s| <= 1e-9 |s|."""
    diff = fast_ma - slow_ma
    state = np.sign(diff)
    state[np.isnan(diff) | (np.abs(diff) <= TIE_REL * np.abs(slow_ma))] = 0.0
    n = state.shape[0]
    last = np.where(state != 0.0, np.arange(n), -1)
    np.maximum.accumulate(last, out=last)
    prev = np.zeros(n)
    prev[1:] = np.where(last[:-1] >= 0, state[np.maximum(last[:-1], 0)], 0.0)
    return (state == 1.0) & (prev == -1.0), (state == -1.0) & (prev == 1.0)


def held_after_fill(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Rule 4: 1.0 on bars during which a long position is held (entered at that bar's open or earlier)."""
    target = np.full(up.shape[0], np.nan)
    target[up], target[down] = 1.0, 0.0
    idx = np.where(np.isnan(target), -1, np.arange(target.shape[0]))
    np.maximum.accumulate(idx, out=idx)
    target = np.where(idx >= 0, target[np.maximum(idx, 0)], 0.0)
    held = np.zeros_like(target)
    held[1:] = target[:-1]  # decided at close t, filled at open t+1; the last bar's signal never fills
    return held


def numpy_floor(
    open_: np.ndarray, close: np.ndarray, fast: int = FAST, slow: int = SLOW, cash: float = CASH
) -> Outcome:
    """The smallest vectorized numpy computation of W1 with fee 0 (the speed floor of WORKLOADS W5).

    All-in long-only without fees means equity only changes by price ratios: x close/open on the entry bar,
    x close/prev close while held, x open/prev close on the exit bar; equity = cash x cumulative product.
    """
    up, down = crossings(sma(close, fast), sma(close, slow))
    held = held_after_fill(up, down)
    before = np.concatenate(([0.0], held[:-1]))
    prev_close = np.concatenate(([np.nan], close[:-1]))
    factor = np.ones(close.shape[0])
    enter = (held == 1.0) & (before == 0.0)
    stay = (held == 1.0) & (before == 1.0)
    leave = (held == 0.0) & (before == 1.0)
    factor[enter] = close[enter] / open_[enter]
    factor[stay] = close[stay] / prev_close[stay]
    factor[leave] = open_[leave] / prev_close[leave]
    return rule7(cash * np.cumprod(factor), int(enter.sum()), cash)


def exact_ties(frames: Mapping[str, pd.DataFrame], fast: int = FAST, slow: int = SLOW) -> list[str]:
    """'SYMBOL date' for every bar where the two SMAs tie (rule 2): where engines without the tie rule differ."""
    out = []
    for sym, df in frames.items():
        f, s = df["close"].rolling(fast).mean(), df["close"].rolling(slow).mean()
        tied = ((f - s).abs() <= TIE_REL * s.abs()).to_numpy()
        out += [f"{sym} {ts.date() if hasattr(ts, 'date') else ts}" for ts in df.index[tied]]
    return out


def w4_orders(
    frames: Mapping[str, pd.DataFrame], fast: int = FAST, slow: int = SLOW
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """W4 shared prep: union calendar; per symbol, pandas rolling means on its own bars and the tie-aware
    crossover; signals at close t become entry/exit *fill rows* at the symbol's next own bar.

    Returns (entry_rows, exit_rows, open, close) on the union index (symbols in `frames` order); open/close
    are NaN where a symbol has no bar.
    """
    index = None
    for df in frames.values():
        index = df.index if index is None else index.union(df.index)
    entry = pd.DataFrame(False, index=index, columns=list(frames))
    exit_ = entry.copy()
    opens, closes = {}, {}
    for sym, df in frames.items():
        close = df["close"]
        up, down = crossings(close.rolling(fast).mean().to_numpy(), close.rolling(slow).mean().to_numpy())
        own_up, own_down = np.zeros(len(df), bool), np.zeros(len(df), bool)
        own_up[1:], own_down[1:] = up[:-1], down[:-1]  # filled at the symbol's next own bar
        entry.loc[df.index[own_up], sym] = True
        exit_.loc[df.index[own_down], sym] = True
        opens[sym], closes[sym] = df["open"], close
    return entry, exit_, pd.DataFrame(opens).reindex(index), pd.DataFrame(closes).reindex(index)

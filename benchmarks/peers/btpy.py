"""backtesting.py cells, exactly as WORKLOADS.md "How each peer implements it" describes.

`FractionalBacktest(fractional_unit=1e-6)` (prices x 1e-6, whole units of 1e-6 share), market orders at the
next open, `commission=fee` per side, `finalize_trades=False` with the open trade added to the count. Metrics
are recomputed from `stats._equity_curve` with rule 7 (backtesting.py's own Sharpe is a different formula;
it is kept as `native_sharpe`). The tqdm progress bar is patched out.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting import backtesting as _bt_module
from backtesting.lib import FractionalBacktest, crossover

from benchmarks.peers import Inputs
from benchmarks.workloads import (
    CASH,
    FAST,
    FEE_W2,
    SLOW,
    W3_FAST,
    W3_SLOW,
    GridOutcome,
    Outcome,
    best_of_grid,
    grid_pairs,
    rule7,
    sum_sleeves,
)

NAME = "backtesting.py"

_bt_module._tqdm = lambda seq, **_: seq  # no progress bar


def _rolling_mean(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaCross(Strategy):
    """The W1 rules in backtesting.py's idiom (crossover() of pandas rolling means on Close)."""

    fast = FAST
    slow = SLOW

    def init(self) -> None:
        self.f = self.I(_rolling_mean, self.data.Close, self.fast)
        self.s = self.I(_rolling_mean, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.f, self.s) and not self.position:
            self.buy()
        elif crossover(self.s, self.f) and self.position:
            self.position.close()


def native_frame(df: pd.DataFrame) -> pd.DataFrame:
    """backtesting.py's input: capitalized Open, High, Low, Close, Volume."""
    return df.rename(columns=str.capitalize)


def make_backtest(df: pd.DataFrame, fee: float = 0.0, cash: float = CASH, fractional: bool = True) -> Backtest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fractional:
            return FractionalBacktest(
                df, SmaCross, cash=cash, commission=fee, fractional_unit=1e-6, finalize_trades=False
            )
        return Backtest(df, SmaCross, cash=cash, commission=fee, finalize_trades=False)


def _run(bt: Backtest, **params: Any) -> tuple[pd.Series, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.run(**params)
    equity = stats._equity_curve["Equity"]
    trades = len(stats._strategy.trades) + len(stats._strategy.closed_trades)
    return equity, (trades, stats)


def single(df: pd.DataFrame, fee: float = 0.0, fractional: bool = True, cash: float = CASH) -> Outcome:
    """W1/W2/W5: one backtest; rule-7 metrics from the equity curve (native Sharpe kept as an extra)."""
    equity, (trades, stats) = _run(make_backtest(df, fee, cash, fractional))
    return rule7(equity.to_numpy(), trades, cash, native_sharpe=float(stats["Sharpe Ratio"]))


def grid(df: pd.DataFrame, fast: range, slow: range) -> GridOutcome:
    """W3: one Backtest object, bt.run(fast=f, slow=s) for every cell, in-process."""
    pairs, skipped = grid_pairs(fast, slow)
    bt = make_backtest(df)
    total, sharpe = np.empty(len(pairs)), np.empty(len(pairs))
    for k, (f, s) in enumerate(pairs):
        equity, (trades, _) = _run(bt, fast=f, slow=s)
        o = rule7(equity.to_numpy(), trades)
        total[k], sharpe[k] = o.total_return_pct, o.sharpe
    return best_of_grid(pairs, total, sharpe, skipped)


def optimize_once(df: pd.DataFrame) -> GridOutcome:
    """W3 extra: Backtest.optimize over the same grid (its process pool), maximizing 'Return [%]'."""
    bt = make_backtest(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.optimize(
            fast=list(W3_FAST), slow=list(W3_SLOW), constraint=lambda p: p.fast < p.slow, maximize="Return [%]"
        )
    pairs, skipped = grid_pairs(W3_FAST, W3_SLOW)
    best = (int(stats._strategy.fast), int(stats._strategy.slow))
    return GridOutcome(len(pairs), best, float(stats["Return [%]"]), best, float("nan"), skipped)


def sleeves(frames: Mapping[str, pd.DataFrame]) -> Outcome:
    """W4 (single-asset engine): the 36 per-symbol runs with CASH / N each, summed on the union calendar of the
    frames. Time = the sum of runs (each frame renamed to backtesting.py's columns in its run)."""
    cash_each = CASH / len(frames)
    curves, trades = {}, 0
    for sym, df in frames.items():
        equity, (n, _) = _run(make_backtest(native_frame(df), cash=cash_each))
        curves[sym] = pd.Series(equity.to_numpy(), index=df.index)
        trades += n
    index = None
    for df in frames.values():
        index = df.index if index is None else index.union(df.index)
    return rule7(sum_sleeves(curves, index, cash_each), trades)


def prepare(inputs: Inputs) -> dict[str, Callable[[], Any]]:
    """Zero-argument cells, each from the pandas frames (the rename to backtesting.py's columns is timed)."""
    spy = inputs.grid
    cells: dict[str, Callable[[], Any]] = {
        "W1": lambda: single(native_frame(spy)),
        "W2": lambda: single(native_frame(spy), fee=FEE_W2),
        "W1 whole shares": lambda: single(native_frame(spy), fractional=False),
        "W2 whole shares": lambda: single(native_frame(spy), fee=FEE_W2, fractional=False),
        "W3": lambda: grid(native_frame(spy), W3_FAST, W3_SLOW),
        "W3 optimize": lambda: optimize_once(native_frame(spy)),
        "W4 sleeves": lambda: sleeves(inputs.frames),
    }
    if inputs.w5 is not None:
        w5 = inputs.w5
        cells["W5"] = lambda: single(native_frame(w5))
    return cells

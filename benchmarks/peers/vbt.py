"""vectorbt cells (numba engine), exactly as WORKLOADS.md "How each peer implements it" describes.

`vbt.settings['engine'] = 'numba'`; Sharpe with `year_freq = '252 days'`. Each cell runs the indicators,
the portfolio simulation and extracts final value, total return, trade count, max drawdown and Sharpe from
vectorbt itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import vectorbt as vbt

from benchmarks.peers import Inputs
from benchmarks.workloads import (
    CASH,
    FAST,
    FEE_W2,
    SLOW,
    W3_FAST,
    W3_SLOW,
    W6_FAST,
    W6_SLOW,
    GridOutcome,
    Outcome,
    best_of_grid,
    grid_pairs,
    w4_orders,
)

NAME = "vectorbt"

vbt.settings["engine"] = "numba"
vbt.settings.returns["year_freq"] = "252 days"


def _outcome(pf: Any) -> Outcome:
    return Outcome(
        float(pf.final_value()),
        float(pf.total_return()) * 100.0,
        int(pf.trades.count()),
        float(pf.max_drawdown()) * 100.0,
        float(pf.sharpe_ratio()),
    )


def _signals(close: pd.Series, fast: Any, slow: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    fma = vbt.MA.run(close, fast, short_name="fast")
    sma = vbt.MA.run(close, slow, short_name="slow")
    entries = fma.ma_crossed_above(sma).vbt.signals.fshift(1)  # signal at t -> order at t+1
    exits = fma.ma_crossed_below(sma).vbt.signals.fshift(1)
    return entries, exits


def single(df: pd.DataFrame, fast: int = FAST, slow: int = SLOW, fee: float = 0.0) -> Outcome:
    """W1/W2/W5: MA crossover signals shifted one bar, from_signals executed at the open."""
    entries, exits = _signals(df["close"], fast, slow)
    pf = vbt.Portfolio.from_signals(
        df["close"], entries, exits, price=df["open"], fees=fee, init_cash=CASH, direction="longonly", freq="1D"
    )
    return _outcome(pf)


def grid(df: pd.DataFrame, fast: range, slow: range) -> GridOutcome:
    """W3/W6: lists of windows (one column per cell), one from_signals over all columns."""
    pairs, skipped = grid_pairs(fast, slow)
    entries, exits = _signals(df["close"], [p[0] for p in pairs], [p[1] for p in pairs])
    pf = vbt.Portfolio.from_signals(
        df["close"], entries, exits, price=df["open"], fees=0.0, init_cash=CASH, direction="longonly", freq="1D"
    )
    total = pf.total_return().to_numpy() * 100.0
    sharpe = pf.sharpe_ratio().to_numpy()
    pf.trades.count(), pf.max_drawdown()  # the rest of the metrics every engine extracts
    return best_of_grid(pairs, total, sharpe, skipped)


def portfolio_inputs(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """W4 shared prep: fill rows from the oracle crossover, target-percent sizes, close and valuation prices."""
    entry, exit_, open_, close = w4_orders(frames)
    n = len(frames)
    size = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    size[exit_] = 0.0
    size[entry] = 1.0 / n
    close_ff = close.ffill().bfill()  # bfill only covers rows before listing, where nothing is held
    val_price = open_.fillna(close.ffill()).bfill()
    return {"close": close_ff, "size": size, "price": open_, "val_price": val_price}


def portfolio_sim(p: Mapping[str, pd.DataFrame]) -> Outcome:
    """W4 shared cash: from_orders with target percents, cash sharing, sells first (call_seq='auto')."""
    pf = vbt.Portfolio.from_orders(
        p["close"],
        size=p["size"],
        size_type="targetpercent",
        price=p["price"],
        val_price=p["val_price"],
        init_cash=CASH,
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        freq="1D",
    )
    return _outcome(pf)


def sleeves(frames: Mapping[str, pd.DataFrame]) -> Outcome:
    """W4 sleeves: the same fill rows through from_signals, CASH / N per symbol, grouped without cash sharing."""
    entry, exit_, open_, close = w4_orders(frames)
    pf = vbt.Portfolio.from_signals(
        close.ffill().bfill(),
        entry,
        exit_,
        price=open_.fillna(close.ffill()),
        init_cash=CASH / len(frames),
        direction="longonly",
        group_by=True,
        cash_sharing=False,
        freq="1D",
    )
    return _outcome(pf)


def prepare(inputs: Inputs) -> dict[str, Callable[[], Any]]:
    """Zero-argument cells (data as pandas objects, untimed)."""
    spy = inputs.grid
    prepped = portfolio_inputs(inputs.frames)
    cells: dict[str, Callable[[], Any]] = {
        "W1": lambda: single(spy),
        "W2": lambda: single(spy, fee=FEE_W2),
        "W3": lambda: grid(spy, W3_FAST, W3_SLOW),
        "W4": lambda: portfolio_sim(portfolio_inputs(inputs.frames)),
        "W4 sim": lambda: portfolio_sim(prepped),
        "W4 sleeves": lambda: sleeves(inputs.frames),
        "W6": lambda: grid(spy, W6_FAST, W6_SLOW),
    }
    if inputs.w5 is not None:
        cells["W5"] = lambda: single(inputs.w5)
    return cells


def jit_warmup(inputs: Inputs) -> None:
    """Compile every numba kernel the cells use on a few hundred bars (not timed, no time limit)."""
    small = {s: df.iloc[-400:] for s, df in list(inputs.frames.items())[:3]}
    spy = inputs.grid.iloc[-400:]
    single(spy)
    single(spy, fee=FEE_W2)
    grid(spy, range(5, 15, 5), range(20, 60, 20))
    portfolio_sim(portfolio_inputs(small))
    sleeves(small)

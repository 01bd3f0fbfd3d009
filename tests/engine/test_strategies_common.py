"""Shared helpers for the strategy tests (real bundled CSVs read with plain pandas) and tests of the
building blocks in engine/strategies/common.py against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.data.market import MarketData
from engine.strategies.common import cross_state, crossings, first_bar_of_month, hold, per_symbol, to_union

DATA_DIR = SAMPLE_DIR  # the bundled copy of the real daily CSVs


def read_csv(symbol: str) -> pd.DataFrame:
    """One symbol's bars straight from its CSV (date index, float64 OHLCV)."""
    df = pd.read_csv(DATA_DIR / f"{symbol}.csv", index_col="date", parse_dates=True)
    return df.astype("float64")


def market(*symbols: str) -> MarketData:
    return MarketData.from_frames({s: read_csv(s) for s in symbols})


def own_to_union(own: pd.Series, index: pd.Index) -> np.ndarray:
    """Spread a per-own-bar series onto a union index: last own value at or before each row, 0 before the first."""
    out = np.zeros(len(index))
    pos = own.index.searchsorted(index, side="right") - 1
    ok = pos >= 0
    out[ok] = own.to_numpy()[pos[ok]]
    return out


# ---- tests of the building blocks --------------------------------------------------------------------------


def test_cross_state_tie_rule_and_undefined() -> None:
    fast = np.array([np.nan, 1.0, 2.0, 1.0 + 5e-10, 1.0, 0.5])
    slow = np.array([1.0, np.nan, 1.0, 1.0, 1.0 + 2e-9, 1.0])
    # undefined, undefined, above, tie (5e-10 <= 1e-9 * 1), below (2e-9 > 1e-9 * 1.000000002), below
    assert cross_state(fast, slow).tolist() == [0, 0, 1, 0, -1, -1]


def test_crossings_follow_last_nonzero_state() -> None:
    state = np.array([0, 1, 1, 0, -1, 0, 0, -1, 1, 0, 1, -1], dtype=float)
    up, down = crossings(state)
    # The first +1 has no earlier -1: not a cross. -1 at 4 after +1: down. +1 at 8 after -1 (ties between): up.
    assert np.flatnonzero(up).tolist() == [8]
    assert np.flatnonzero(down).tolist() == [4, 11]


def test_hold_long_and_short_with_flips() -> None:
    le = np.array([0, 1, 0, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    lx = np.array([1, 0, 0, 0, 1, 0, 1, 0, 0, 0], dtype=bool)
    se = np.array([0, 0, 0, 0, 0, 1, 0, 0, 1, 0], dtype=bool)
    sx = np.array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
    # bar: 0 exit while flat (ignored), 1 long, 2 short-exit while long (ignored), 3 entry while long, 4 flat,
    # 5 short, 6 long-exit while short (ignored), 7 flat, 8 short, 9 stays.
    assert hold(le, lx, se, sx).tolist() == [0, 1, 1, 1, 0, -1, -1, 0, -1, -1]
    # opposite entry flips directly
    assert hold(
        np.array([1, 0, 1], bool), np.zeros(3, bool), np.array([0, 1, 0], bool), np.zeros(3, bool)
    ).tolist() == [1, -1, 1]


def test_first_bar_of_month() -> None:
    idx = pd.DatetimeIndex(["2020-01-30", "2020-01-31", "2020-02-03", "2020-02-04", "2020-03-02", "2021-03-01"])
    assert first_bar_of_month(idx).tolist() == [False, False, True, False, True, True]


def test_per_symbol_uses_own_bars_and_to_union_holds_over_gaps() -> None:
    a = pd.DataFrame(
        {f: [1.0, 2.0, 3.0] for f in ("open", "high", "low", "close", "volume")},
        index=pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-04"]),
    )
    b = pd.DataFrame(
        {f: [10.0, 20.0] for f in ("open", "high", "low", "close", "volume")},
        index=pd.to_datetime(["2020-01-03", "2020-01-04"]),
    )
    data = MarketData.from_frames({"A": a, "B": b})
    seen: list[list[float]] = []

    def fn(bars: pd.DataFrame) -> pd.Series:
        seen.append(bars["close"].tolist())
        return bars["close"].diff()  # NaN on each symbol's first own bar

    own = per_symbol(data, fn)
    assert seen == [[1.0, 2.0, 3.0], [10.0, 20.0]]  # no NaN rows from the other calendar
    np.testing.assert_array_equal(own["A"].to_numpy(), [np.nan, 1.0, np.nan, 1.0])
    w = to_union(own, data)
    # A: warm-up NaN -> 0, gap on 01-03 holds the 01-02 value. B: 0 before listing and on its warm-up bar.
    assert w["A"].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert w["B"].tolist() == [0.0, 0.0, 0.0, 10.0]


def test_helpers_read_real_data() -> None:
    data = market("SPY", "BTC-USD")
    assert len(read_csv("SPY")) == 8397
    assert data.close["BTC-USD"].first_valid_index() == pd.Timestamp("2014-09-17")
    with pytest.raises(FileNotFoundError):
        read_csv("NOPE")

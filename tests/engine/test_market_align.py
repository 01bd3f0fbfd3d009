"""MarketData.from_frames (numpy union + searchsorted) equals the plain pandas alignment it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.data.market import FIELDS, MarketData


def pandas_alignment(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The obvious way: Index.union per symbol, then one reindexed column per symbol and field."""
    index = None
    for df in frames.values():
        index = df.index if index is None else index.union(df.index)
    out = {f: pd.DataFrame({s: df[f].astype("float64") for s, df in frames.items()}, index=index) for f in FIELDS}
    for frame in out.values():
        frame.columns.name = "symbol"
    return out


def sample(*symbols: str) -> dict[str, pd.DataFrame]:
    return {s: pd.read_csv(SAMPLE_DIR / f"{s}.csv", index_col="date", parse_dates=True) for s in symbols}


@pytest.mark.parametrize(
    "frames",
    [
        sample("SPY"),
        sample("SPY", "BTC-USD", "ETH-USD", "META", "XLE"),  # different calendars and listing dates
        sample("BTC-USD", "ETH-USD"),  # a 7-day union: freq "D" inferred
        {s: df.tz_localize("America/New_York") for s, df in sample("SPY", "TLT").items()},
        {
            "A": pd.DataFrame({f: np.arange(5.0) for f in FIELDS}),  # integer index, volume as int
            "B": pd.DataFrame({**{f: np.arange(3.0) for f in FIELDS[:4]}, "volume": [1, 2, 3]}, index=[1, 3, 7]),
        },
    ],
)
def test_from_frames_equals_pandas_alignment(frames) -> None:
    data = MarketData.from_frames(frames)
    expected = pandas_alignment(frames)
    for f in FIELDS:
        pd.testing.assert_frame_equal(getattr(data, f), expected[f], check_freq=True)
    assert getattr(data.index, "freq", None) == getattr(expected["close"].index, "freq", None)


def test_extra_and_reordered_columns_are_read_by_name() -> None:
    df = sample("SPY")["SPY"]
    shuffled = df[["volume", "close", "low", "high", "open"]].assign(extra=1.0)
    pd.testing.assert_frame_equal(
        MarketData.from_frames({"SPY": shuffled}).close, MarketData.from_frames({"SPY": df}).close
    )

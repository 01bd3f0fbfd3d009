"""MarketData.from_frames of one long symbol (WRAP_MIN_BARS bars or more) wraps the frame's columns without
copying: the same fields, index and columns as the aligned path (and as a short frame's copy), float64, and later
writes to either side stay on their side (copy-on-write)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.market import FIELDS, WRAP_MIN_BARS, MarketData


def _frame(n: int = WRAP_MIN_BARS) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = 100 + rng.normal(0, 1, n).cumsum()
    return pd.DataFrame(
        {"open": close + 0.1, "high": close + 1, "low": close - 1, "close": close, "volume": np.arange(n)},
        index=pd.RangeIndex(n, name="bar"),
    )


@pytest.mark.parametrize("n", [50, WRAP_MIN_BARS])
def test_one_frame_equals_the_aligned_path(n: int) -> None:
    df = _frame(n)
    one = MarketData.from_frames({"AAA": df})
    # the aligned (block) path, as from_frames builds it for several symbols
    blocks = np.stack([df[f].to_numpy(dtype="float64") for f in FIELDS])[:, None, :]
    aligned = MarketData.from_blocks(blocks, df.index, ["AAA"])
    for f in FIELDS:
        pd.testing.assert_frame_equal(one.field(f), aligned.field(f))
        assert one.field(f).dtypes.iloc[0] == np.float64
    assert one.symbols == ["AAA"] and one.close.columns.name == "symbol" and one.index.equals(df.index)
    arrays = one.to_arrays()
    assert all(a.shape == (len(df), 1) and a.flags.c_contiguous for a in arrays.values())


def test_writes_stay_on_their_side() -> None:
    df = _frame()
    before = df["close"].to_numpy().copy()
    data = MarketData.from_frames({"AAA": df})
    assert np.shares_memory(data.close.to_numpy(), df["close"].to_numpy())  # wrapped, not copied
    df.loc[df.index[0], "close"] = -1.0
    np.testing.assert_array_equal(data.close["AAA"].to_numpy(), before)
    data.close.iloc[1, 0] = -2.0
    assert df["close"].iloc[1] == before[1]

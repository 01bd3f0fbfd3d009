"""AlpacaBarsSource against FakeAlpacaServer: it returns the fake's bars as the engine's frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brokers.alpaca.bars import AlpacaBarsSource
from engine.data import load_market_data
from engine.errors import DataError
from tests.brokers.bars_sample import ROWS, expected


def alpaca_bar(d, o, h, lo, c, v):
    # Alpaca stamps a daily bar at midnight New York time, in UTC: 05:00Z in winter, 04:00Z in summer
    hour = 4 if d >= "2024-03-10" and d < "2024-11-03" else 5
    return {"t": f"{d}T{hour:02d}:00:00Z", "o": o, "h": h, "l": lo, "c": c, "v": v, "n": 1000, "vw": None}


def test_alpaca_bars_paginated_and_dated_by_session(alpaca_fake):
    alpaca_fake.bars["SPY"] = [alpaca_bar(*r) for r in ROWS]
    alpaca_fake.bars_page_size = 2  # 5 bars -> 3 pages
    src = AlpacaBarsSource(
        ["spy", "QQQ"],
        start="2024-01-01",
        api_key=alpaca_fake.key,
        secret_key=alpaca_fake.secret,
        data_url=alpaca_fake.url,
    )
    assert src.symbols() == ["QQQ", "SPY"]
    df = src.load("SPY")
    pd.testing.assert_frame_equal(df[["open", "high", "low", "close", "volume"]], expected(), check_freq=False)
    assert df.index.name == "date" and all(t == np.float64 for t in df.dtypes)
    assert sum(1 for m, p in alpaca_fake.requests if p == "/v2/stocks/bars") == 3
    with pytest.raises(DataError, match="QQQ: no daily bars"):
        src.load("QQQ")
    with pytest.raises(DataError, match="unknown symbol 'IWM'"):
        src.load("IWM")


def test_alpaca_bars_through_the_engine_loader_and_errors(alpaca_fake):
    alpaca_fake.bars["SPY"] = [alpaca_bar(*r) for r in ROWS]
    src = AlpacaBarsSource(["SPY"], api_key=alpaca_fake.key, secret_key=alpaca_fake.secret, data_url=alpaca_fake.url)
    data = load_market_data(["SPY"], source=src)
    assert list(data.close["SPY"]) == [r[4] for r in ROWS]
    bad = AlpacaBarsSource(["SPY"], api_key="x", secret_key="y", data_url=alpaca_fake.url)
    with pytest.raises(DataError, match="alpaca:SPY: download failed.*401"):
        bad.load("SPY")
    alpaca_fake.bars["SPY"][1]["h"] = 1.0  # high below low: validation names the row
    with pytest.raises(DataError, match="alpaca:SPY"):
        src.load("SPY")

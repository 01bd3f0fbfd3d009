"""AlpacaBarsSource / IbkrBarsSource against the fakes: they return the fake's bars as the engine's frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brokers.bars import AlpacaBarsSource, IbkrBarsSource
from engine.data import load_market_data
from engine.errors import DataError

# (session date, open, high, low, close, volume); the July bar is in daylight-saving time
ROWS = [
    ("2024-01-02", 472.16, 473.67, 470.49, 472.65, 123623700.0),
    ("2024-01-03", 470.43, 471.19, 468.17, 468.79, 103585900.0),
    ("2024-01-04", 468.30, 470.96, 467.05, 467.28, 84232200.0),
    ("2024-07-01", 545.63, 545.88, 542.52, 545.34, 40297800.0),
    ("2024-07-02", 543.70, 549.01, 543.65, 549.01, 40434800.0),
]


def alpaca_bar(d, o, h, l, c, v):
    # Alpaca stamps a daily bar at midnight New York time, in UTC: 05:00Z in winter, 04:00Z in summer
    hour = 4 if d >= "2024-03-10" and d < "2024-11-03" else 5
    return {"t": f"{d}T{hour:02d}:00:00Z", "o": o, "h": h, "l": l, "c": c, "v": v, "n": 1000, "vw": None}


def expected() -> pd.DataFrame:
    idx = pd.DatetimeIndex([r[0] for r in ROWS], name="date").as_unit("ns")  # the engine frame uses ns
    return pd.DataFrame(
        {k: [r[i + 1] for r in ROWS] for i, k in enumerate(["open", "high", "low", "close", "volume"])},
        index=idx,
        dtype="float64",
    )


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


def test_ibkr_bars_from_fake_tws(tws_fake, ib_log):
    tws_fake.bars["SPY"] = [(d.replace("-", ""), o, h, l, c, v) for d, o, h, l, c, v in ROWS]
    src = IbkrBarsSource(["SPY", "AAPL"], port=tws_fake.port, client_id=21, timeout=3)
    try:
        df = src.load("SPY")
        pd.testing.assert_frame_equal(df[["open", "high", "low", "close", "volume"]], expected(), check_freq=False)
        with pytest.raises(DataError, match="AAPL: no daily bars"):
            src.load("AAPL")
        data = load_market_data(["SPY"], source=src)
        assert list(data.open["SPY"]) == [r[1] for r in ROWS]
        req = [f for f in tws_fake.received if f[0] == "20"][0]
        assert (req[3], req[16], req[17], req[19]) == ("SPY", "1 day", "30 Y", "ADJUSTED_LAST")
    finally:
        src.close()

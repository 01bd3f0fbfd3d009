"""IbkrBarsSource against FakeTwsServer: it returns the fake's bars as the engine's frame."""

from __future__ import annotations

import pandas as pd
import pytest

from brokers.ibkr.bars import IbkrBarsSource
from engine.data import load_market_data
from engine.errors import DataError
from tests.brokers.bars_sample import ROWS, expected


def test_ibkr_bars_from_fake_tws(tws_fake, ib_log):
    tws_fake.bars["SPY"] = [(d.replace("-", ""), o, h, lo, c, v) for d, o, h, lo, c, v in ROWS]
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

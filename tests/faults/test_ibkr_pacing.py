"""IBKR faults (issue 15 item 6): historical-data pacing violations (error 162 "... pacing violation": IB allows no
identical request within 15 s and about 60 in ten minutes). The bar source waits and asks again, a bounded number
of times, then says so in one line; before, the error ended the request empty and read as "no daily bars".

The real ib_async client against the fake TWS; the fake counts the requests (no timing assertions).
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from brokers.base import BrokerUnavailable
from brokers.ibkr.adapter import IbkrBroker
from brokers.ibkr.bars import IbkrBarsSource
from engine.errors import DataError
from tests.brokers.bars_sample import ROWS, expected
from tests.brokers.conftest import IbLog
from tests.brokers.ibkr.tws_server import FakeTwsServer
from tests.faults.ibkr_helpers import fake_tws, ib_errors


@pytest.fixture
def tws(home, no_broker_env) -> Iterator[FakeTwsServer]:
    with fake_tws() as fake:
        fake.bars["SPY"] = [(d.replace("-", ""), o, h, lo, c, v) for d, o, h, lo, c, v in ROWS]
        yield fake


@pytest.fixture
def ib_log() -> Iterator[IbLog]:
    with ib_errors() as log:
        log.allow(r"Error 162, reqId \d+: Historical Market Data Service error message:.*pacing violation")
        yield log


def test_ibkr_pacing_violation_on_bars_waits_and_retries(tws, ib_log):
    tws.pacing_violations = 2
    src = IbkrBarsSource(["SPY"], port=tws.port, client_id=41, timeout=3, pacing_wait=0.05, pacing_retries=2)
    try:
        df = src.load("SPY")
    finally:
        src.close()
    pd.testing.assert_frame_equal(df[["open", "high", "low", "close", "volume"]], expected(), check_freq=False)
    assert tws.historical_requests == 3  # two refused, the third answered


def test_ibkr_pacing_violation_beyond_the_bound_is_one_clear_line(tws, ib_log):
    tws.pacing_violations = 100
    b = IbkrBroker(port=tws.port, client_id=42, timeout=3, pacing_wait=0.05, pacing_retries=2)
    try:
        with pytest.raises(BrokerUnavailable) as err:
            b.historical_bars("SPY")
    finally:
        b.close()
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("ibkr historical bars SPY: IB pacing violation (error 162)"), msg
    assert "3 requests" in msg and "0.05 s" in msg, msg
    assert tws.historical_requests == 3  # the first and two retries, no more


def test_ibkr_pacing_violation_through_the_bar_source_is_a_data_error_not_no_bars(tws, ib_log):
    tws.pacing_violations = 100
    src = IbkrBarsSource(["SPY"], port=tws.port, client_id=43, timeout=3, pacing_wait=0.01, pacing_retries=1)
    try:
        with pytest.raises(DataError, match=r"ibkr:SPY: download failed: .*pacing violation") as err:
            src.load("SPY")
    finally:
        src.close()
    assert "no daily bars" not in str(err.value)
    assert tws.historical_requests == 2

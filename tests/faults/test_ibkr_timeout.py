"""IBKR faults (issue 15 item 6): a TWS that accepts the connection and never answers (a hung TWS / IB Gateway,
or one waiting on a login dialog). Every call ends after the configured timeout (the adapter's `timeout`, or
IVYBT_IBKR_TIMEOUT) with one BrokerUnavailable line naming host:port and the timeout; `ivybt positions` exits 2
with that line and no traceback. Before, a TWS silent after the handshake gave an empty account that read as "no
positions".

The real ib_async client against the fake TWS on 127.0.0.1; no timing assertions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brokers.base import BrokerUnavailable
from brokers.ibkr.adapter import IbkrBroker
from tests.brokers.conftest import IbLog
from tests.brokers.ibkr.tws_server import FakeTwsServer
from tests.faults.ibkr_helpers import fake_tws, ib_errors, ivybt


@pytest.fixture
def tws(home, no_broker_env) -> Iterator[FakeTwsServer]:
    with fake_tws() as fake:
        yield fake


@pytest.fixture
def ib_log() -> Iterator[IbLog]:
    with ib_errors() as log:
        log.allow(r"API connection failed: TimeoutError", r"request timed out")
        yield log


def _one_line(e: pytest.ExceptionInfo[BrokerUnavailable], port: int, timeout: str) -> str:
    msg = str(e.value)
    assert "\n" not in msg and f"127.0.0.1:{port}" in msg and f"within {timeout} s" in msg, msg
    return msg


def test_ibkr_tws_never_answers_the_handshake_times_out_naming_host_port(tws, ib_log):
    tws.silent_handshake = True
    b = IbkrBroker(port=tws.port, client_id=51, timeout=1)
    try:
        with pytest.raises(BrokerUnavailable) as err:
            b.account()
    finally:
        b.close()
    assert "did not answer" in _one_line(err, tws.port, "1")


def test_ibkr_tws_silent_after_the_handshake_is_unavailable_not_an_empty_account(tws, ib_log):
    tws.silent = True  # server version and startApi answered, then nothing (positions, orders, executions ...)
    b = IbkrBroker(port=tws.port, client_id=52, timeout=1)
    try:
        with pytest.raises(BrokerUnavailable) as err:
            b.positions()  # before: [] after the start-up requests timed out, read as "no positions"
    finally:
        b.close()
    assert "did not answer" in _one_line(err, tws.port, "1")


def test_ibkr_tws_going_silent_mid_session_times_out_the_request(tws, ib_log):
    b = IbkrBroker(port=tws.port, client_id=53, timeout=1)
    try:
        assert b.account().cash == 100_000.0
        tws.silent = True
        with pytest.raises(BrokerUnavailable) as err:
            b.latest_prices(["SPY"])
    finally:
        b.close()
    assert "latest prices" in _one_line(err, tws.port, "1")


def test_ibkr_tws_never_answers_cli_positions_exits_2_with_one_line(tws, home):
    tws.silent_handshake = True
    done = ivybt(home, "positions", "--broker", "ibkr", IBKR_PORT=str(tws.port), IVYBT_IBKR_TIMEOUT="1.5")
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"127.0.0.1:{tws.port}" in lines[0] and "within 1.5 s" in lines[0] and "IVYBT_IBKR_TIMEOUT" in lines[0]

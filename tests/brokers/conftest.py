"""Shared fixtures of the broker tests: every test runs in its own workspace with no broker credentials."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _workspace(home, no_broker_env):
    """Every broker test in its own workspace with no broker credentials (fixtures of tests/conftest.py)."""
    return home


@pytest.fixture
def alpaca_fake():
    """A started FakeAlpacaServer (stopped after the test; a safety timer stops it after 10 min)."""
    from tests.brokers.alpaca.alpaca_server import FakeAlpacaServer

    with FakeAlpacaServer(lifetime=600.0) as fake:
        yield fake


@pytest.fixture
def tws_fake():
    """A started FakeTwsServer (stopped after the test; a safety timer stops it after 10 min)."""
    from tests.brokers.ibkr.tws_server import FakeTwsServer

    with FakeTwsServer(lifetime=600.0) as fake:
        yield fake


class IbLog:
    """ERROR records of the ib_async loggers; a test allows the ones it provokes on purpose."""

    def __init__(self) -> None:
        self.records: list = []
        self.allowed: list[str] = []

    def allow(self, *patterns: str) -> None:
        self.allowed.extend(patterns)

    def unexpected(self) -> list[str]:
        import re

        msgs = [r.getMessage() for r in self.records]
        return [m for m in msgs if not any(re.search(p, m) for p in self.allowed)]


@pytest.fixture
def ib_log():
    """Fail the test on any ERROR log record from ib_async (the client only LOGS decoder exceptions)."""
    import logging

    log = IbLog()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log.records.append(record)

    handler = Collect(level=logging.ERROR)
    logger = logging.getLogger("ib_async")
    logger.addHandler(handler)
    yield log
    logger.removeHandler(handler)
    bad = log.unexpected()
    assert not bad, f"unexpected ERROR records from ib_async: {bad}"

"""Helpers of the IBKR fault tests: the fake TWS on 127.0.0.1, ib_async's ERROR records checked, a submit run in a
thread (so the test can act while it waits), and `ivybt` run as a real process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.brokers.conftest import IbLog
from tests.brokers.ibkr.tws_server import FakeTwsServer

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def fake_tws() -> Iterator[FakeTwsServer]:
    """A started FakeTwsServer, stopped afterwards (its own timer stops it after 2 minutes in any case)."""
    with FakeTwsServer(lifetime=120.0) as fake:
        yield fake


@contextmanager
def ib_errors() -> Iterator[IbLog]:
    """ERROR records of ib_async during the block; AssertionError at the end for any the test did not allow."""
    log = IbLog()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log.records.append(record)

    handler = Collect(level=logging.ERROR)
    logger = logging.getLogger("ib_async")
    logger.addHandler(handler)
    try:
        yield log
    finally:
        logger.removeHandler(handler)
    bad = log.unexpected()
    assert not bad, f"unexpected ERROR records from ib_async: {bad}"


class Background:
    """`fn()` in a daemon thread: `result()` joins and returns its value or raises its error."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._out: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._out["value"] = fn()
        except BaseException as e:  # handed to the test's thread by result()
            self._out["error"] = e

    def result(self, timeout: float = 30.0) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"still running after {timeout} s")
        if "error" in self._out:
            raise self._out["error"]
        return self._out["value"]


def ivybt(home: Path, *args: str, timeout: float = 120.0, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m engine.cli ARGS` as a real process, workspace `home`, no broker settings but `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IBKR_", "ALPACA_", "APCA_", "IVYBT_"))}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        env={**base, "IVYBT_HOME": str(home), **env},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )

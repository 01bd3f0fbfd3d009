"""`IbSession`: IbkrBroker's connection to TWS / IB Gateway: its loop thread, (re)connecting, and the bounds that
turn every connection fault into one BrokerUnavailable line.

Threading: one asyncio loop runs forever in a daemon thread. Every public method of the adapter submits a
coroutine there (`_call`) and waits with a timeout, so it works the same from Streamlit's script threads and the
CLI. ib_async is imported inside that thread, after its loop is set (ib_insync would otherwise create a loop at
import time).

Faults: a refused connection, a TWS that accepts and never answers (the handshake or the start-up requests: each
gets `timeout` s; `raiseSyncErrors` so a half-answered start-up is not taken for an empty account), a request
unanswered within `timeout`, a lost socket: BrokerUnavailable naming host:port (and the timeout), and the next
call reconnects. TWS losing IB (1100 / 1101 / 1102) while the socket stays up: brokers.ibkr.connectivity.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from brokers.base import BrokerConfigError, BrokerError, BrokerUnavailable
from brokers.ibkr.connectivity import Link
from brokers.ibkr.settings import TIMEOUT_ENV

log = logging.getLogger(__name__)
T = TypeVar("T")


def import_ib() -> Any:
    """ib_async (else the archived ib_insync). Call it in the loop thread once its loop is set (module docstring)."""
    try:
        import ib_async as ib_module
    except ImportError as first:  # only where the archived ib_insync is installed instead (tested)
        try:
            import ib_insync as ib_module  # type: ignore[no-redef]
        except ImportError as e:
            raise ModuleNotFoundError(
                "IBKR needs ib_async (pip install ib_async; it ships with IvyBT) or the "
                f"archived ib_insync; neither imports ({first}; {e})",
                name="ib_async",
            ) from e
    return ib_module


class IbSession:
    """The connection half of IbkrBroker (see module docstring). `link`: TWS's connection to IB (1100 / 110x)."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: int,
        account: str,
        timeout: float,
        outage_wait: float,
        market_data_type: int,
    ) -> None:
        for name, value in (("timeout", timeout), ("outage_wait", outage_wait)):
            if not float(value) > 0:
                raise BrokerConfigError(f"ibkr: {name} {value!r} must be a number of seconds > 0")
        self.host, self.port, self.client_id = host, port, int(client_id)
        self.account_code = account
        self.timeout, self.outage_wait = float(timeout), float(outage_wait)
        self.market_data_type = market_data_type
        self.link = Link(self._resync)
        self._ib: Any = None
        self._mod: Any = None
        self._contracts: dict[str, Any] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=f"ibkr-loop-{client_id}", daemon=True)
        self._thread.start()
        self._closed = False

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, fn: Callable[[], Awaitable[T]], what: str, timeout: float | None = None, write: str = "") -> T:
        """Run coroutine `fn()` on the loop; connection problems become BrokerUnavailable. `write` (e.g. "order X")
        marks a call that sends something: it waits for TWS's link to IB first (Link.wait_up)."""
        if self._closed:
            raise BrokerConfigError("ibkr: this broker was closed; create a new one")
        bound = (timeout or self.timeout * 3) + self.timeout * 3 + (self.outage_wait if write else 0.0)
        fut = asyncio.run_coroutine_threadsafe(self._guard(fn, what, write), self._loop)
        try:
            return fut.result(bound)
        except concurrent.futures.TimeoutError as e:  # a safety net: the bounds inside end first
            fut.cancel()
            raise BrokerUnavailable(
                f"ibkr {what}: TWS at {self.host}:{self.port} did not answer within {bound:g} s in all"
            ) from e

    async def _guard(self, fn: Callable[[], Awaitable[T]], what: str, write: str) -> T:
        try:
            await self._connect()
            if write:
                await self.link.wait_up(self.outage_wait, write)
            else:
                self.link.warn_stale(what)
            return await fn()
        except BrokerError:
            raise
        except (TimeoutError, ConnectionError, OSError) as e:
            self._drop()
            raise BrokerUnavailable(self._failure(what, e)) from e

    def _failure(self, what: str, e: BaseException) -> str:
        """One line for a connection fault: a timeout names the timeout and where it is set."""
        at = f"{self.host}:{self.port}"
        unsynced = e.args[0] if isinstance(e, ConnectionError) and e.args and isinstance(e.args[0], list) else None
        if isinstance(e, TimeoutError) or unsynced:
            detail = (
                f" (unanswered: {', '.join(str(s).removesuffix(' request timed out') for s in unsynced)})"
                if unsynced
                else ""
            )
            return (
                f"ibkr {what}: TWS at {at} did not answer within {self.timeout:g} s{detail}; is TWS / IB Gateway "
                f"running, logged in, its API enabled? (the wait: {TIMEOUT_ENV} or the timeout argument)"
            )
        return f"ibkr {what}: connection to {at} failed ({type(e).__name__}: {e})"

    def _drop(self) -> None:
        if self._ib is not None and self._ib.isConnected():
            self._ib.disconnect()

    async def _connect(self) -> None:
        if self._ib is None:
            self._mod = import_ib()
            self._ib = self._mod.IB()
            self._ib.errorEvent += self.link.on_error
        if not self._ib.isConnected():
            self._contracts.clear()
            self.link.reset()  # a new session: TWS reports a loss of IB to it as it happens
            await self._ib.connectAsync(
                self.host,
                self.port,
                clientId=self.client_id,
                timeout=self.timeout,
                account=self.account_code,
                raiseSyncErrors=True,
            )
            if not self.account_code:
                accounts = self._ib.managedAccounts()
                self.account_code = accounts[0] if len(accounts) == 1 else ""
            self._ib.reqMarketDataType(self.market_data_type)

    async def _resync(self) -> None:
        """After 1101 (data lost): ask TWS again for connectivity.RESUBSCRIBED, each within `timeout`."""
        ib, t = self._ib, self.timeout
        if self.account_code:
            await asyncio.wait_for(ib.reqAccountUpdatesAsync(self.account_code), t)
        await asyncio.wait_for(ib.reqPositionsAsync(), t)
        await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), t)
        await asyncio.wait_for(ib.reqCompletedOrdersAsync(False), t)
        await asyncio.wait_for(ib.reqExecutionsAsync(), t)
        ib.reqMarketDataType(self.market_data_type)

    def _require_connection(self, what: str) -> None:
        if not self._ib.isConnected():
            raise BrokerUnavailable(f"ibkr {what}: connection lost (the next call reconnects)")

    def close(self) -> None:
        """Disconnect and stop the loop thread (idempotent)."""
        if self._closed:
            return

        async def _bye() -> None:
            self._drop()

        try:
            asyncio.run_coroutine_threadsafe(_bye(), self._loop).result(self.timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self.timeout)
        if not self._thread.is_alive():
            self._loop.close()

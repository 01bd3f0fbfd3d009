"""`Link`: TWS's own connection to IB's servers, as TWS reports it on the API socket, and the request errors
ib_async only logs.

The API socket to TWS stays up when TWS loses IB (error 1100), so ib_async sees nothing wrong and an order placed
then would go nowhere. What the adapter does with each code (TWS API message codes):

* 1100 "Connectivity between IB and Trader Workstation has been lost": writes (submit, cancel, replace) wait up to
  `outage_wait` seconds for it to come back, then raise BrokerUnavailable saying nothing was sent; reads answer
  from TWS's last values with a warning that they may be stale.
* 1102 "... restored - data maintained": writes resume.
* 1101 "... restored - data lost": TWS dropped the API's subscriptions, so `resync` (the adapter's) asks again for
  RESUBSCRIBED before writes resume.

Request errors (`request_error`): with ib_async's default RaiseRequestErrors=False a request that TWS answers with
an error ends EMPTY, so a pacing violation (error 162 on historical data) would read as "no data". The link keeps
the last error per request id for the caller to look at. SDK-free: ib_async's errorEvent calls `on_error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from brokers.base import BrokerUnavailable

log = logging.getLogger(__name__)

LOST, RESTORED_DATA_LOST, RESTORED = 1100, 1101, 1102
RESUBSCRIBED = "account updates, positions, open orders, completed orders, executions and the market data type"
"""What TWS drops on 1101 and the adapter asks for again (brokers.ibkr.session.IbSession._resync)."""
PACING_CODES = (162, 420)  # historical data (HMDS) and market data pacing violations
KEPT_ERRORS = 256  # request errors remembered (the newest ones)


def is_pacing(code: int, text: str) -> bool:
    """Is error `code` / `text` a pacing violation (IB: too many or identical requests in a short time)?"""
    return code in PACING_CODES and "pacing violation" in text.lower()


class Link:
    """TWS <-> IB as TWS reports it (see module docstring). Lives on the adapter's loop; `resync` re-requests what
    TWS dropped on 1101. `lost`: 1100 seen and not yet 1101 / 1102; `waiting`: writes waiting for it now."""

    def __init__(self, resync: Callable[[], Awaitable[None]]) -> None:
        self.lost = False
        self.lost_at: datetime | None = None
        self.waiting = 0
        self._resync = resync
        self._up = asyncio.Event()
        self._up.set()
        self._errors: dict[int, tuple[int, str]] = {}

    def on_error(self, req_id: int, code: int, text: str, contract: object = None) -> None:
        """ib_async's errorEvent handler (runs on the adapter's loop)."""
        if code == LOST:
            self.lost, self.lost_at = True, datetime.now(UTC)
            self._up.clear()
            log.warning("ibkr: TWS lost its connection to IB (1100); orders wait for it to come back")
        elif code == RESTORED:
            log.warning("ibkr: TWS's connection to IB restored, data maintained (1102); orders resume")
            self._resume()
        elif code == RESTORED_DATA_LOST:
            asyncio.ensure_future(self._restore())
        elif req_id >= 0:
            self._errors[req_id] = (code, text)
            while len(self._errors) > KEPT_ERRORS:
                del self._errors[next(iter(self._errors))]

    async def _restore(self) -> None:
        log.warning("ibkr: TWS's connection to IB restored, data lost (1101); asking again for %s", RESUBSCRIBED)
        try:
            await self._resync()
        except Exception as e:  # resume anyway: a submit looks its order up at TWS before sending
            log.warning("ibkr: re-requesting %s after 1101 failed (%s: %s)", RESUBSCRIBED, type(e).__name__, e)
        self._resume()

    def reset(self) -> None:
        """A new API connection: up until TWS says otherwise (writes waiting now go ahead and meet the new session)."""
        self._resume()
        self._errors.clear()

    def _resume(self) -> None:
        self.lost, self.lost_at = False, None
        self._up.set()

    def _since(self) -> str:
        return f" at {self.lost_at:%H:%M:%S} UTC" if self.lost_at else ""

    async def wait_up(self, bound: float, action: str) -> None:
        """Return once TWS reaches IB (at once if it does); after `bound` seconds BrokerUnavailable saying
        `action` (e.g. "order X") was not sent."""
        if self._up.is_set():
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self._up.wait(), bound)
        except TimeoutError:
            raise BrokerUnavailable(
                f"ibkr: TWS lost its connection to IB (1100){self._since()}; {action} not sent after waiting "
                f"{bound:g} s for it to come back (1101/1102); nothing was sent, a retry is safe"
            ) from None
        finally:
            self.waiting -= 1

    def warn_stale(self, what: str) -> None:
        """Log that a read answered from TWS's last values while TWS has no connection to IB."""
        if self.lost:
            log.warning(
                "ibkr %s: TWS lost its connection to IB (1100)%s; these are TWS's last values and may be stale",
                what,
                self._since(),
            )

    def request_error(self, req_id: int) -> tuple[int, str] | None:
        """(code, text) of the error TWS sent for request `req_id`, if any (and forget it)."""
        return self._errors.pop(req_id, None)

"""Daily bars from TWS (`reqHistoricalData`) with IB's pacing rules: a coroutine run on IbkrBroker's loop.

IB refuses historical requests that come too fast (error 162 "... pacing violation": an identical request within
15 s, six for one contract within 2 s, about 60 in ten minutes). ib_async ends such a request EMPTY, which would
read as "no bars". Here a pacing violation waits `Pacing.wait` seconds and asks again, at most `Pacing.retries`
times, then raises BrokerUnavailable in one line; another error TWS sends for the request (save "no data") is a
BrokerError with its code. SDK-free: `ib` (an ib_async IB) is passed in.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from brokers.base import BrokerConfigError, BrokerError, BrokerUnavailable
from brokers.ibkr.connectivity import Link, is_pacing
from brokers.ibkr.settings import PACING_WAIT_ENV

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    """How long to wait after a pacing violation (seconds) and how many times to ask again."""

    wait: float = 15.0
    retries: int = 2

    def __post_init__(self) -> None:
        if not float(self.wait) >= 0:
            raise BrokerConfigError(f"ibkr: pacing_wait {self.wait!r} must be a number of seconds >= 0")
        if int(self.retries) != self.retries or self.retries < 0:
            raise BrokerConfigError(f"ibkr: pacing_retries {self.retries!r} must be a whole number >= 0")

    def bound(self, per_request: float) -> float:
        """The longest all attempts can take when each request may take `per_request` seconds."""
        return (self.retries + 1) * per_request + self.retries * self.wait


async def daily_bars(
    ib: Any, link: Link, contract: Any, query: tuple[str, str, bool], timeout: float, pacing: Pacing, what: str
) -> Any:
    """1-day bars of `contract` for `query` = (duration, what to show, regular hours only), each request within
    `timeout` s (TimeoutError otherwise: the session names host and port)."""
    duration, what_to_show, use_rth = query
    for attempt in range(pacing.retries + 1):
        bars = await asyncio.wait_for(
            ib.reqHistoricalDataAsync(
                contract,
                endDateTime="",
                durationStr=duration,
                barSizeSetting="1 day",
                whatToShow=what_to_show,
                useRTH=use_rth,
                formatDate=1,
                timeout=0,  # no timeout of its own (it would end empty): ours raises
            ),
            timeout,
        )
        error = link.request_error(bars.reqId)
        if error is None:
            return bars
        code, text = error
        if not is_pacing(code, text):
            if bars or "no data" in text.lower():
                return bars
            raise BrokerError(f"ibkr {what}: TWS error {code}: {text}")
        if attempt == pacing.retries:
            raise BrokerUnavailable(
                f"ibkr {what}: IB pacing violation (error {code}) on {attempt + 1} requests, {pacing.wait:g} s "
                f"apart; IB allows no identical request within 15 s and about 60 in 10 minutes: try again later "
                f"(the wait: {PACING_WAIT_ENV} or pacing_wait)"
            )
        log.warning(
            "ibkr %s: IB pacing violation (error %d); asking again in %g s (%d of %d)",
            what,
            code,
            pacing.wait,
            attempt + 1,
            pacing.retries,
        )
        await asyncio.sleep(pacing.wait)
    raise AssertionError("unreachable")  # pragma: no cover

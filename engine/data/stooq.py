"""Daily bars from Stooq's public CSV endpoint: no account, no key (the default source of `ivybt data update`).

``GET <base>?s=<ticker>&i=d`` answers ``Date,Open,High,Low,Close,Volume`` (ISO dates, ascending). Stooq's
daily prices are **split- and dividend-adjusted**, like the bundled sample (Yahoo, ``auto_adjust=True``), so
the two can be merged when their overlapping bars agree (`engine.data.update` checks that).

Tickers: a US symbol gets Stooq's ``.us`` suffix (``SPY`` -> ``spy.us``, ``BRK-B`` -> ``brk-b.us``); a crypto
pair ``XXX-USD`` becomes ``xxxusd``; a symbol that already names a market (``VOD.UK``) or an index (``^SPX``)
is sent as it is, lower-cased.

Stooq answers 200 even when it has nothing to give: the body ``No data`` for an unknown ticker, a sentence such
as "Exceeded the daily hits limit" when rate-limited. Each of those, an HTTP error, a timeout and a malformed
CSV is a `DataError` on one line naming the symbol and the URL asked.

Settings: ``IVYBT_STOOQ_URL`` (base URL, for a proxy, a mirror or a test server) and ``IVYBT_STOOQ_TIMEOUT``
(seconds per request, default 20).
"""

from __future__ import annotations

import io
import math
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.data.validate import normalize_bars
from engine.errors import DataError
from engine.settings import env_number

DEFAULT_URL = "https://stooq.com/q/d/l/"
URL_ENV = "IVYBT_STOOQ_URL"
TIMEOUT_ENV = "IVYBT_STOOQ_TIMEOUT"
DEFAULT_TIMEOUT = 20.0
ADJUSTMENT = "split- and dividend-adjusted"
"""What Stooq's daily prices are (volume is split-adjusted only), stated in every update result."""


class RateLimitError(DataError):
    """The source refused to answer more requests for now (the rest of an update is skipped, not asked)."""


_CRYPTO = re.compile(r"^[A-Z0-9]+-USD$")
_SHOWN = 80  # characters of an unexpected answer quoted in the error


def base_url() -> str:
    """The endpoint: $IVYBT_STOOQ_URL, else Stooq's own."""
    return os.environ.get(URL_ENV, "").strip() or DEFAULT_URL


def timeout_seconds() -> float:
    """$IVYBT_STOOQ_TIMEOUT (seconds, > 0), else 20; ConfigError-like DataError naming the bad value."""
    return env_number(
        TIMEOUT_ENV, DEFAULT_TIMEOUT, lambda v: 0 < v < math.inf, "expected a number of seconds > 0", error=DataError
    )


def stooq_ticker(symbol: str) -> str:
    """Our symbol as Stooq spells it (see the module docstring)."""
    sym = symbol.strip().upper()
    if _CRYPTO.match(sym):
        return sym.replace("-", "").lower()
    if "." in sym or sym.startswith("^"):
        return sym.lower()
    return f"{sym.lower()}.us"


def stooq_url(symbol: str, url: str | None = None) -> str:
    """The request URL of one symbol's daily bars."""
    base = url or base_url()
    query = urllib.parse.urlencode({"s": stooq_ticker(symbol), "i": "d"})
    return f"{base}{'&' if '?' in base else '?'}{query}"


def fetch_stooq(symbol: str, url: str | None = None, timeout: float | None = None) -> pd.DataFrame:
    """One symbol's daily bars from Stooq as the engine's standard frame (validated by `normalize_bars`).

    Raises:
        DataError: one line naming the symbol and the URL: unknown ticker ("No data"), rate limit, HTTP
            error, no answer within the timeout, or a malformed CSV (with its line).
    """
    sym = symbol.strip().upper()
    address = stooq_url(sym, url)
    wait = timeout if timeout is not None else timeout_seconds()
    text = _get(sym, address, wait)
    return parse_stooq_csv(sym, text, address)


def _get(symbol: str, address: str, timeout: float) -> str:
    request = urllib.request.Request(address, headers={"User-Agent": "ivybt"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (http/https base URL)
            body = answer.read()
    except urllib.error.HTTPError as exc:
        kind = RateLimitError if exc.code == 429 else DataError
        raise kind(f"stooq: {symbol}: HTTP {exc.code} {exc.reason} from {address}") from exc
    except TimeoutError as exc:
        raise DataError(f"stooq: {symbol}: no answer from {address} within {timeout:g} s ({TIMEOUT_ENV})") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise DataError(f"stooq: {symbol}: no answer from {address} within {timeout:g} s ({TIMEOUT_ENV})") from exc
        raise DataError(f"stooq: {symbol}: cannot reach {address}: {exc.reason}") from exc
    except (OSError, ValueError) as exc:  # a reset connection, a malformed URL
        raise DataError(f"stooq: {symbol}: cannot read {address}: {exc}") from exc
    return body.decode("utf-8", errors="replace")


def parse_stooq_csv(symbol: str, text: str, address: str) -> pd.DataFrame:
    """Stooq's answer -> standard frame; DataError naming the symbol and the URL for anything else."""
    body = text.strip()
    first = body.splitlines()[0].strip() if body else ""
    if not body or first.lower().startswith("no data"):
        raise DataError(f"stooq: no data for {symbol} (unknown ticker {stooq_ticker(symbol)!r}?) from {address}")
    if not first.lower().startswith("date,"):
        quoted = " ".join(body.split())[:_SHOWN]
        if "limit" in body.lower():
            raise RateLimitError(f"stooq: {symbol}: rate limit reached from {address}: {quoted!r}")
        raise DataError(f"stooq: {symbol}: unexpected answer from {address}: {quoted!r}")
    try:
        raw = pd.read_csv(io.StringIO(body), skipinitialspace=True, dtype=str)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"stooq: {symbol}: malformed CSV from {address}: {' '.join(str(exc).split())}") from exc
    lines = np.arange(2, len(raw) + 2)
    return normalize_bars(raw, origin=f"stooq:{symbol} ({address})", row_numbers=lines, row_label="line")


class StooqSource:
    """Stooq as a `DataSource` of the given symbols (never cached: each load asks Stooq again)."""

    adjustment = ADJUSTMENT

    def __init__(self, symbols: Sequence[str], url: str | None = None, timeout: float | None = None):
        self.name = "stooq"
        self._symbols = sorted({s.strip().upper() for s in symbols if s.strip()})
        self.url = url
        self.timeout = timeout

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def load(self, symbol: str) -> pd.DataFrame:
        return fetch_stooq(symbol, self.url, self.timeout)

    def fingerprint(self, symbol: str) -> str:
        return ""

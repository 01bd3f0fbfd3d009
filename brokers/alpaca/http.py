"""The HTTP transport under alpaca-py: a timeout on every request, alpaca-py's own retry turned off, and an
answer that is not JSON caught where its endpoint is still known.

alpaca-py (0.44, `alpaca.common.rest.RESTClient._request`) retries a request answered 429 or 504 up to 3 times,
sleeping a fixed 3 s, whatever the method (a POST /v2/orders answered 504 is sent again blindly) and without
reading Retry-After; `TradingClient` offers no argument for it and `retry_attempts=0` is ignored. `configure`
therefore sets the client's `_retry` to 0: every answer reaches us once, and brokers.alpaca.faults applies our
one bounded policy. It also mounts `Transport`, which gives requests (no default timeout) the adapter's timeout
and names the endpoint of a timeout (`NoAnswer`) or of a 2xx body that is not JSON (`MalformedAnswer`: the
client would raise a bare JSONDecodeError that says neither what nor where).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from brokers.alpaca.settings import seconds


class MalformedAnswer(requests.RequestException):
    """A 2xx answer whose body is not JSON; the message is "<METHOD> <path>: <why>"."""


class NoAnswer(requests.Timeout):
    """No answer within the timeout; the message is "<METHOD> <path> within <N> s"."""


def endpoint(request: Any) -> str:
    """ "GET /v2/account" for a requests (prepared) request: method and path, never the query or the host."""
    method = getattr(request, "method", None) or "?"
    url = getattr(request, "url", None) or ""
    return f"{method} {urlsplit(url).path or url}"


def shown(value: object) -> str:
    """A timeout as shown in a message: 1 for 1.0, as given otherwise (requests also takes a (connect, read) pair)."""
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


class Transport(HTTPAdapter):
    """requests' adapter with a timeout per request (without one a silent server hangs a rebalance forever),
    timeouts as `NoAnswer` and non-JSON 2xx bodies as `MalformedAnswer`, both naming the endpoint."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        try:
            response = super().send(request, **kwargs)
        except requests.Timeout as e:
            raise NoAnswer(f"{endpoint(request)} within {shown(kwargs['timeout'])} s", request=request) from e
        if 200 <= response.status_code < 300 and response.content:
            try:
                json.loads(response.content)
            except ValueError as e:
                raise MalformedAnswer(f"{endpoint(request)}: {e}", request=request, response=response) from e
        return response


def configure(client: Any, timeout: float) -> None:
    """Give an alpaca-py REST client our `Transport` (its one requests.Session) and turn its own retry off."""
    if hasattr(client, "_retry"):
        client._retry = 0  # see the module docstring: 429 / 504 are ours to retry, with Retry-After and a bound
    session = getattr(client, "_session", None)
    if isinstance(session, requests.Session):
        transport = Transport(seconds(timeout, "timeout"))
        session.mount("http://", transport)
        session.mount("https://", transport)

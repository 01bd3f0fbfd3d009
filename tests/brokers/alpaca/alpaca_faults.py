"""Fault knobs of `FakeAlpacaServer`: what a real service (or a proxy in front of it) answers on a bad day.

Endpoint knobs are keyed by (method, path), e.g. ``("POST", "/v2/orders")``, and consumed one per request:

* ``throttle(n, retry_after=1)``: the next n authorized requests (any endpoint) answer 429 with
  ``Retry-After: <retry_after>`` (no header when None), before anything is processed.
* ``fail_before[endpoint] = [503, ...]``: the next requests answer these statuses, unprocessed (no order made).
* ``fail_after[endpoint] = [500, ...]``: processed (a POST /v2/orders creates its order), then answered with
  these statuses: the ambiguous case.
* ``garbage[endpoint] = n``: the next n are processed and answered 200 with a truncated JSON body.
* ``hang[endpoint] = n``: the next n are processed and never answered: the connection stays open (the client
  times out) until the server stops, which releases the waiting handler thread.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

Endpoint = tuple[str, str]


class FaultKnobs:
    """Mixin of FakeAlpacaServer (see module docstring); `stopping` is set when the server stops."""

    lock: threading.RLock

    def init_faults(self) -> None:
        self.throttled = 0
        self.retry_after: float | None = 1
        self.fail_before: dict[Endpoint, list[int]] = {}
        self.fail_after: dict[Endpoint, list[int]] = {}
        self.garbage: dict[Endpoint, int] = {}
        self.hang: dict[Endpoint, int] = {}
        self.stopping = threading.Event()

    def throttle(self, n: int, retry_after: float | None = 1) -> None:
        with self.lock:
            self.throttled, self.retry_after = n, retry_after

    def early_fault(self, handler: BaseHTTPRequestHandler, method: str, path: str) -> bool:
        """Answer a 429 or a `fail_before` status instead of processing the request; True if it did."""
        with self.lock:
            if self.throttled > 0:
                self.throttled -= 1
                extra = {} if self.retry_after is None else {"Retry-After": f"{self.retry_after:g}"}
                body = {"code": 42910000, "message": "rate limit exceeded"}
                _answer(handler, 429, json.dumps(body).encode(), extra)
                return True
            codes = self.fail_before.get((method, path))
            if not codes:
                return False
            code = codes.pop(0)
        _answer(handler, code, json.dumps({"code": code * 100_000, "message": _reason(code)}).encode())
        return True

    def late_fault(self, handler: BaseHTTPRequestHandler, method: str, path: str, route: tuple[int, Any]) -> bool:
        """After processing: answer a `fail_after` status, a truncated body, or nothing; True if it did."""
        key = (method, path)
        with self.lock:
            if self.hang.get(key, 0) > 0:
                self.hang[key] -= 1
                fault = "hang"
            elif self.garbage.get(key, 0) > 0:
                self.garbage[key] -= 1
                fault = "garbage"
            elif self.fail_after.get(key):
                fault = str(self.fail_after[key].pop(0))
            else:
                return False
        if fault == "hang":
            self.stopping.wait()  # never answer; the server's stop releases this thread
            handler.close_connection = True
        elif fault == "garbage":
            data = json.dumps(route[1]).encode()
            _answer(handler, 200, data[: max(len(data) // 2, 1)])
        else:
            code = int(fault)
            _answer(handler, code, json.dumps({"code": code * 100_000, "message": _reason(code)}).encode())
        return True


def _reason(code: int) -> str:
    return {500: "internal server error", 502: "bad gateway", 503: "service unavailable", 504: "gateway timeout"}.get(
        code, f"error {code}"
    )


def _answer(handler: BaseHTTPRequestHandler, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)

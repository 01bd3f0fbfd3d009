"""A fake Stooq CSV endpoint on 127.0.0.1 serving Stooq's real answer formats (shared by engine and page tests).

``GET /q/d/l/?s=<ticker>&i=d`` answers, like stooq.com:
* a known ticker: ``Date,Open,High,Low,Close,Volume`` CSV (CRLF line ends), the rows the test put in `series`;
* an unknown ticker: 200 with the body ``No data``;
* tickers in `limited`: 200 with "Exceeded the daily hits limit";
* tickers in `hang`: no answer until the server stops (or `hang_seconds` pass);
* tickers in `raw`: that body as is (e.g. a malformed CSV); `status`: that HTTP status.

The server runs in a daemon thread and stops when the `with` block ends, or by itself after `lifetime` seconds.
`csv_rows` builds the served rows from a real file of the bundled sample (a copy of ../shared/data), optionally scaled
(another adjustment basis) and extended with new bars.
"""

from __future__ import annotations

import csv
import threading
import urllib.parse
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from engine.data import SAMPLE_DIR

HEADER = "Date,Open,High,Low,Close,Volume"

type Row = tuple[str, str, str, str, str, str]


def sample_rows(symbol: str, last: int | None = None) -> list[Row]:
    """The rows of the bundled `<symbol>.csv` as text (the last `last` rows only, when given)."""
    with open(Path(SAMPLE_DIR) / f"{symbol}.csv", newline="") as fh:
        rows = [tuple(r) for r in csv.reader(fh)][1:]
    return rows[-last:] if last else rows  # type: ignore[return-value]


def scaled(rows: Sequence[Row], factor: float) -> list[Row]:
    """The rows with every price multiplied by `factor` (a new dividend rescales adjusted history)."""
    return [(d, *(f"{float(p) * factor:.4f}" for p in (o, h, lo, c)), v) for d, o, h, lo, c, v in rows]


NEW_BARS: list[Row] = [
    ("2026-06-10", "600.5", "604.25", "598.75", "603.1", "61234500"),
    ("2026-06-11", "603.0", "605.5", "601.2", "604.9", "58000000"),
    ("2026-06-12", "604.1", "606.0", "599.9", "600.35", "70111000"),
]
"""Three new SPY-like bars after the bundled data's last day (2026-06-09), as Stooq would print them."""


class FakeStooq:
    def __init__(self, lifetime: float = 120.0, hang_seconds: float = 30.0) -> None:
        self.series: dict[str, list[Row]] = {}
        self.limited: set[str] = set()
        self.hang: set[str] = set()
        self.raw: dict[str, str] = {}
        self.status: dict[str, int] = {}
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._hang_seconds = hang_seconds
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                ticker = query.get("s", [""])[0]
                fake.requests.append(self.path)
                if ticker in fake.hang:
                    fake._stop.wait(fake._hang_seconds)
                    return
                code = fake.status.get(ticker, 200)
                if ticker in fake.raw:
                    body = fake.raw[ticker]
                elif ticker in fake.limited:
                    body = "Exceeded the daily hits limit"
                elif ticker in fake.series:
                    body = "\r\n".join([HEADER, *(",".join(r) for r in fake.series[ticker])]) + "\r\n"
                else:
                    body = "No data"
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/q/d/l/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> FakeStooq:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

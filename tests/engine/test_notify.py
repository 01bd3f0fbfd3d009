"""Webhook notifications against a real local HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.ops.notify import MAX_CHARS, send_webhook


class Receiver:
    """A webhook endpoint: records each POST (path, headers, JSON body); answers `code`, after `delay` s."""

    def __init__(self, code: int = 200, delay: float = 0.0) -> None:
        self.code, self.delay, self.posts = code, delay, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((self.path, dict(self.headers), json.loads(body)))
                time.sleep(outer.delay)
                self.send_response(outer.code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/T0KEN-SECRET"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("IVYBT_WEBHOOK_URL", raising=False)


def test_slack_and_discord_compatible_json_post():
    with Receiver() as r:
        assert send_webhook("Plan p123", ["buy 10 SPY", "sell 5 QQQ"], url=r.url) is True
    ((path, headers, body),) = r.posts
    assert path == "/hooks/T0KEN-SECRET"
    assert headers["Content-Type"] == "application/json"
    assert body["text"] == body["content"] == "*Plan p123*\nbuy 10 SPY\nsell 5 QQQ"
    assert body["username"] == "IvyBT"


def test_url_from_environment_and_long_messages_are_cut(monkeypatch):
    with Receiver() as r:
        monkeypatch.setenv("IVYBT_WEBHOOK_URL", r.url)
        assert send_webhook("t", ["x" * 5000]) is True
    assert len(r.posts[0][2]["content"]) == MAX_CHARS


def test_no_url_means_no_notification():
    assert send_webhook("t", ["x"]) is False


def test_failures_are_logged_never_raised(caplog):
    caplog.set_level(logging.WARNING, logger="engine.ops.notify")
    with Receiver(code=500) as r:
        assert send_webhook("t", ["x"], url=r.url) is False
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hooks/T0KEN-SECRET"
    assert send_webhook("t", ["x"], url=dead) is False
    assert send_webhook("t", ["x"], url="ftp://example.invalid/x") is False
    text = caplog.text
    assert "HTTP 500" in text and "failed" in text
    assert "T0KEN-SECRET" not in text  # the token in the path is never logged


def test_a_slow_receiver_times_out():
    with Receiver(delay=3.0) as r:
        t0 = time.monotonic()
        assert send_webhook("t", ["x"], url=r.url, timeout=0.5) is False
        assert time.monotonic() - t0 < 2.5

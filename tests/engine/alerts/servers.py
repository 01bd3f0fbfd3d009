"""Real local servers on 127.0.0.1 for the alert tests: SMTP (aiosmtpd), a fake Telegram Bot API, a webhook
receiver and a dead port (accepts connections, never answers). Each stops by itself after SAFETY_S."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

SAFETY_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """aiosmtpd on 127.0.0.1: every message received as (mail_from, rcpt_tos, raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        self.timer = threading.Timer(SAFETY_S, self.controller.stop)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        self.controller.stop()


class HttpServer:
    """A Telegram Bot API / webhook fake: records each POST (path, JSON or raw body) and answers by `mode`:
    "ok" ({"ok": true, "result": {...}} like the Bot API), "500" (an API error), "garbage" (200, not JSON)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.posts: list[tuple[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    outer.posts.append((self.path, json.loads(raw)))
                except ValueError:
                    outer.posts.append((self.path, raw))
                if outer.mode == "500":
                    code, body = 500, b'{"ok": false, "error_code": 500, "description": "Internal Server Error"}'
                elif outer.mode == "garbage":
                    code, body = 200, b"<html>surprise</html>"
                else:
                    code, body = 200, json.dumps({"ok": True, "result": {"message_id": len(outer.posts)}}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HttpServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.timer = threading.Timer(SAFETY_S, self.httpd.shutdown)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


class DeadPort:
    """A listening socket that never accepts nor answers: a connect succeeds (the kernel's backlog), every
    read waits until the client's timeout."""

    def __enter__(self) -> DeadPort:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.timer = threading.Timer(SAFETY_S, self.sock.close)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        self.sock.close()

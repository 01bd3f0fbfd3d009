"""Telegram through the Bot API's sendMessage (HTTPS POST of JSON; the API base is configurable for tests)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from engine.alerts.channels.errors import ChannelError
from engine.alerts.events import Alert
from engine.alerts.settings import AlertSettings

MAX_CHARS = 4096
"""The Bot API's limit on a message's text."""


def configured(settings: AlertSettings) -> bool:
    """A bot token and a chat id."""
    return bool(settings.telegram_token and settings.telegram_chat_id)


def text(alert: Alert) -> str:
    """The message: "<LEVEL> <title>" and the text, cut to MAX_CHARS."""
    body = "\n".join([f"{alert.level.upper()} {alert.title}", *alert.lines()])
    return body if len(body) <= MAX_CHARS else body[: MAX_CHARS - 1] + "…"


def send(alert: Alert, settings: AlertSettings) -> None:
    """POST {chat_id, text} to <api>/bot<token>/sendMessage; the answer must be JSON with "ok": true."""
    if not settings.telegram_api.startswith(("http://", "https://")):
        raise ChannelError(f"IVYBT_TELEGRAM_API must start with http:// or https://, got {settings.telegram_api!r}")
    url = f"{settings.telegram_api}/bot{settings.telegram_token}/sendMessage"
    body = json.dumps({"chat_id": settings.telegram_chat_id, "text": text(alert)}).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=settings.timeout) as resp:  # noqa: S310 - scheme checked above
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise ChannelError(f"HTTP {e.code}{_description(e.read())}") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, BaseException):
            raise e.reason from None  # the socket error itself (timed out, refused): reason() names it
        raise ChannelError(str(e.reason)) from None
    try:
        answer = json.loads(raw)
    except ValueError:
        raise ChannelError(f"answer is not JSON: {raw[:60]!r}") from None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise ChannelError(f"answer not ok{_description(raw)}")


def _description(raw: bytes) -> str:
    """ ": <description>" of a Bot API error answer, if it is one."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return ""
    return f": {answer.get('description')}" if isinstance(answer, dict) and answer.get("description") else ""

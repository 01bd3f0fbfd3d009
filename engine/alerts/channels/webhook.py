"""Webhook: a Slack- and Discord-compatible JSON POST, sent with urllib (no extra dependency).

The body carries the message under both "text" (Slack incoming webhooks, Mattermost, Teams connectors) and
"content" (Discord webhooks), which each service reads and the other ignores. Discord limits content to
2000 characters, so messages are cut to that. The URL embeds a token: it is a secret, and errors name only its
scheme and host (`safe_target`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from engine.alerts.channels.errors import ChannelError
from engine.alerts.events import Alert
from engine.alerts.settings import AlertSettings

MAX_CHARS = 2000
USER_AGENT = "IvyBT-notify/1"


def configured(settings: AlertSettings) -> bool:
    """A webhook URL."""
    return bool(settings.webhook_url)


def safe_target(url: str) -> str:
    """scheme://host of a webhook URL (the path holds the token and is never shown)."""
    p = urlparse(url)
    return f"{p.scheme}://{p.hostname or '?'}" + (f":{p.port}" if p.port else "")


def payload(title: str, lines: Sequence[str] = (), extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body: {"username", "text", "content"} (+ `extra` fields, e.g. Slack "blocks")."""
    text = "\n".join([f"*{title}*", *lines]) if title else "\n".join(lines)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + "…"
    return {"username": "IvyBT", "text": text, "content": text, **dict(extra or {})}


def post(url: str, title: str, lines: Sequence[str] = (), timeout: float = 5.0) -> None:
    """POST the payload to `url`; raises ChannelError (naming only scheme and host) unless it answers 2xx."""
    if not url.startswith(("http://", "https://")):
        raise ChannelError(f"the URL must start with http:// or https:// (got scheme {urlparse(url).scheme!r})")
    body = json.dumps(payload(title, lines)).encode("utf-8")
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": USER_AGENT}
    )
    target = safe_target(url)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) checked above
            if not 200 <= resp.status < 300:
                raise ChannelError(f"{target} answered HTTP {resp.status}")
    except urllib.error.HTTPError as e:
        raise ChannelError(f"{target} answered HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        cause = getattr(e, "reason", e)
        why = "timed out" if isinstance(cause, TimeoutError) else str(cause)[:200] or type(cause).__name__
        raise ChannelError(f"{target} failed: {why}") from None


def send(alert: Alert, settings: AlertSettings) -> None:
    """Post `alert` to the configured webhook."""
    post(settings.webhook_url, f"{alert.level.upper()} {alert.title}", alert.lines(), settings.timeout)

"""Webhook notifications: a Slack- and Discord-compatible JSON POST, sent with urllib (no extra dependency).

The body carries the message under both "text" (Slack incoming webhooks, Mattermost, Teams connectors) and
"content" (Discord webhooks), which each service reads and the other ignores. Discord limits content to
2000 characters, so messages are cut to that. A notification NEVER blocks or breaks trading: every failure
(bad URL, refused connection, timeout, HTTP error) is logged as a warning and reported by a False return.

The URL comes from the argument or the environment variable IVYBT_WEBHOOK_URL; it is treated as a secret
(it embeds a token) and never logged or stored: messages name only its scheme and host.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)

WEBHOOK_ENV = "IVYBT_WEBHOOK_URL"
MAX_CHARS = 2000
USER_AGENT = "IvyBT-notify/1"


def webhook_url(url: str | None = None) -> str | None:
    """The webhook to use: `url`, else $IVYBT_WEBHOOK_URL, else None (notifications off)."""
    return (url or os.environ.get(WEBHOOK_ENV) or "").strip() or None


def safe_target(url: str) -> str:
    """scheme://host of a webhook URL (the path holds the token and is never shown)."""
    p = urlparse(url)
    return f"{p.scheme}://{p.hostname or '?'}" + (f":{p.port}" if p.port else "")


def payload(title: str, lines: list[str] | tuple[str, ...] = (), extra: Mapping[str, Any] | None = None) -> dict:
    """The JSON body: {"username", "text", "content"} (+ `extra` fields, e.g. Slack "blocks")."""
    text = "\n".join([f"*{title}*", *lines]) if title else "\n".join(lines)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + "…"
    return {"username": "IvyBT", "text": text, "content": text, **dict(extra or {})}


def send_webhook(
    title: str, lines: list[str] | tuple[str, ...] = (), *, url: str | None = None, timeout: float = 5.0
) -> bool:
    """POST a notification; True if the receiver answered 2xx. Never raises for network or HTTP problems."""
    target = webhook_url(url)
    if target is None:
        return False
    if not target.startswith(("http://", "https://")):
        log.warning(
            "webhook not sent: the URL must start with http:// or https:// (got scheme %r)", urlparse(target).scheme
        )
        return False
    body = json.dumps(payload(title, lines)).encode("utf-8")
    req = urllib.request.Request(
        target, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": USER_AGENT}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) checked above
            ok = 200 <= resp.status < 300
            if not ok:
                log.warning("webhook %s answered HTTP %s", safe_target(target), resp.status)
            return ok
    except urllib.error.HTTPError as e:
        log.warning("webhook %s answered HTTP %s", safe_target(target), e.code)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        log.warning(
            "webhook %s failed: %s",
            safe_target(target),
            type(reason).__name__ if not str(reason) else str(reason)[:200],
        )
    return False

"""Webhook notifications of daily operations (the plan and the execution report), through the webhook alert
channel (engine.alerts.channels.webhook: the payload, the POST and its error text live there).

A notification NEVER blocks or breaks trading: every failure (bad URL, refused connection, timeout, HTTP
error) is logged as a warning and reported by a False return. The URL comes from the argument or the
environment variable IVYBT_WEBHOOK_URL; it is treated as a secret (it embeds a token) and never logged or
stored: messages name only its scheme and host.
"""

from __future__ import annotations

import logging
import os

from engine.alerts.channels.errors import ChannelError
from engine.alerts.channels.webhook import MAX_CHARS, USER_AGENT, payload, post, safe_target

__all__ = ["MAX_CHARS", "USER_AGENT", "WEBHOOK_ENV", "payload", "safe_target", "send_webhook", "webhook_url"]

log = logging.getLogger(__name__)

WEBHOOK_ENV = "IVYBT_WEBHOOK_URL"


def webhook_url(url: str | None = None) -> str | None:
    """The webhook to use: `url`, else $IVYBT_WEBHOOK_URL, else None (notifications off)."""
    return (url or os.environ.get(WEBHOOK_ENV) or "").strip() or None


def send_webhook(
    title: str, lines: list[str] | tuple[str, ...] = (), *, url: str | None = None, timeout: float = 5.0
) -> bool:
    """POST a notification; True if the receiver answered 2xx. Never raises for network or HTTP problems."""
    target = webhook_url(url)
    if target is None:
        return False
    try:
        post(target, title, lines, timeout)
    except ChannelError as e:
        log.warning("webhook not sent: %s", e)
        return False
    return True

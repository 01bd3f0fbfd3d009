"""The alert channels: each is `send(alert, settings)` (raises ChannelError on failure) plus `configured`.

A channel's failure reason is one short line with no secret in it (`reason`): "timed out", "connection
refused", "HTTP 500", "SMTP 550 ...". Adding a channel: a module with `configured` and `send`, one line in
CHANNELS.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from types import ModuleType

from engine.alerts.channels import email, telegram, webhook
from engine.alerts.channels.errors import ChannelError
from engine.alerts.events import Alert
from engine.alerts.settings import AlertSettings

__all__ = ["CHANNELS", "ChannelError", "Sender", "reason"]

Sender = Callable[[Alert, AlertSettings], None]

CHANNELS: dict[str, ModuleType] = {"email": email, "telegram": telegram, "webhook": webhook}
"""channel name -> its module (configured(settings) -> bool, send(alert, settings) -> None)."""


def reason(error: BaseException, settings: AlertSettings) -> str:
    """Why a send failed, as one short line with every secret redacted."""
    if isinstance(error, ChannelError):
        text = str(error)
    elif isinstance(error, TimeoutError | socket.timeout):
        text = "timed out"
    elif isinstance(error, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(error, ssl.SSLError):
        text = f"TLS error: {error}"
    else:
        text = f"{type(error).__name__}: {error}"
    return settings.redact(" ".join(text.split()))[:300]

"""Alerts: one call, `alert(event, title, text)`, puts an alert in the in-app list (the workspace database)
and sends it to every configured channel (email, Telegram, webhook) in the background, never blocking or
raising into the caller.

events.py: the events and levels. settings.py: the channels' settings (environment or Streamlit secrets).
channels/: one module per channel. inbox.py: the in-app list. dispatcher.py: `alert` and retries.
Broker-agnostic and below batch and ops, so both (and brokers, the app, the CLI) can raise alerts.
"""

from __future__ import annotations

from engine.alerts.dispatcher import ALL_CHANNELS, Delivery, alert
from engine.alerts.events import EVENTS, Alert
from engine.alerts.inbox import Inbox, Notification
from engine.alerts.settings import AlertSettings, load_settings, use_secrets

__all__ = [
    "ALL_CHANNELS",
    "EVENTS",
    "Alert",
    "AlertSettings",
    "Delivery",
    "Inbox",
    "Notification",
    "alert",
    "load_settings",
    "use_secrets",
]

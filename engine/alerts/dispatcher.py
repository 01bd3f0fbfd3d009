"""`alert(event, title, text)`: store the alert in the in-app list, then deliver it to every configured channel
in the background. Never blocks the caller beyond the in-app write and never raises.

Each channel gets its own daemon thread: an attempt is bounded by the channel timeout; a failed attempt is
logged (reason redacted) and retried `retries` more times (delay doubling); when every attempt failed, a
`channel_failure` notice goes to the in-app list (never to the channels: no loops). At interpreter exit
pending deliveries get up to EXIT_WAIT_S seconds in total (a CLI command that alerts and exits still sends).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.alerts.channels import CHANNELS, reason
from engine.alerts.events import EVENTS, Alert, Level, check_level
from engine.alerts.inbox import Inbox
from engine.alerts.settings import AlertSettings, load_settings

log = logging.getLogger(__name__)

APP = "app"
ALL_CHANNELS: tuple[str, ...] = (APP, *CHANNELS)
EXIT_WAIT_S = 10.0
"""Seconds the interpreter's exit waits, in total, for deliveries still under way."""

_pending: set[threading.Thread] = set()
_lock = threading.Lock()


@dataclass
class Delivery:
    """What happened to one alert, per channel: "delivered", "failed: <reason>", "not configured", or
    "pending" while a background attempt is under way. `wait` blocks until every channel is final."""

    alert: Alert
    outcomes: dict[str, str] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    def wait(self, timeout: float | None = None) -> dict[str, str]:
        """Wait up to `timeout` seconds in total for the background deliveries; returns the outcomes."""
        end = None if timeout is None else time.monotonic() + timeout
        for t in self.threads:
            t.join(None if end is None else max(0.0, end - time.monotonic()))
        return dict(self.outcomes)


def alert(
    event: str,
    title: str,
    text: str = "",
    *,
    level: Level | None = None,
    channels: Iterable[str] | None = None,
    settings: AlertSettings | None = None,
    inbox: Inbox | None = None,
) -> Delivery:
    """Send an alert about `event` (a key of engine.alerts.events.EVENTS) to the in-app list and to `channels`
    (default: every configured one). Returns at once with a Delivery; never raises."""
    default_level = EVENTS.get(event, ("warning", ""))[0]
    if event not in EVENTS:
        log.warning("alert with an unknown event %r (known: %s)", event, ", ".join(EVENTS))
    try:
        item = Alert(event, str(title), str(text or ""), check_level(level or default_level))
    except ValueError as e:
        log.warning("alert %r: %s; sent as %s", event, e, default_level)
        item = Alert(event, str(title), str(text or ""), default_level)
    wanted = tuple(channels) if channels is not None else ALL_CHANNELS
    delivery = Delivery(item)
    box = inbox if inbox is not None else Inbox()
    if APP in wanted:
        delivery.outcomes[APP] = _store(box, item)
    try:
        conf = settings if settings is not None else load_settings()
    except ValueError as e:  # a bad number or flag in the environment: the channels are off until it is fixed
        log.warning("alert channels off: %s", e)
        _store(box, Alert("channel_failure", "alert settings are invalid: channels off", str(e), "warning"))
        delivery.outcomes.update({name: f"failed: {e}" for name in wanted if name != APP})
        return delivery
    for name in wanted:
        if name == APP:
            continue
        module = CHANNELS.get(name)
        if module is None:
            delivery.outcomes[name] = f"failed: unknown channel (known: {', '.join(ALL_CHANNELS)})"
        elif not module.configured(conf):
            if channels is not None:
                delivery.outcomes[name] = "not configured"
        else:
            delivery.outcomes[name] = "pending"
            thread = threading.Thread(
                target=_deliver, args=(name, item, conf, box, delivery), name=f"ivybt-alert-{name}", daemon=True
            )
            delivery.threads.append(thread)
            with _lock:
                _pending.add(thread)
            thread.start()
    return delivery


def _store(box: Inbox, item: Alert) -> str:
    """Add to the in-app list; the outcome text (a failing database is logged, never raised)."""
    try:
        box.add(item)
        return "delivered"
    except Exception as e:  # the in-app list must never break the caller (disk full, locked, bad path)
        log.warning("in-app notification not stored: %s: %s", type(e).__name__, e)
        return f"failed: {type(e).__name__}: {e}"


def _deliver(name: str, item: Alert, conf: AlertSettings, box: Inbox, delivery: Delivery) -> None:
    """Try channel `name` up to 1 + retries times; record the outcome (and a failure notice)."""
    send = CHANNELS[name].send
    attempts = 1 + max(0, conf.retries)
    why = ""
    try:
        for attempt in range(1, attempts + 1):
            try:
                send(item, conf)
                delivery.outcomes[name] = "delivered"
                return
            except Exception as e:  # every failure is a reason to report, never to raise
                why = reason(e, conf)
                log.warning("alert %r via %s failed (attempt %d of %d): %s", item.event, name, attempt, attempts, why)
            if attempt < attempts:
                time.sleep(conf.retry_delay * 2 ** (attempt - 1))
        delivery.outcomes[name] = f"failed: {why}"
        _store(
            box,
            Alert(
                "channel_failure",
                f"{name} could not deliver: {item.title}",
                f"{name}: {why} (after {attempts} attempt{'s' if attempts > 1 else ''})",
                "warning",
            ),
        )
    finally:
        with _lock:
            _pending.discard(threading.current_thread())


@atexit.register
def _drain() -> None:
    """Give deliveries still under way up to EXIT_WAIT_S seconds in total before the interpreter exits."""
    end = time.monotonic() + EXIT_WAIT_S
    with _lock:
        threads = list(_pending)
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))

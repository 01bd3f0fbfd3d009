"""The alert events: the one list of what IvyBT alerts about, each with its default level.

Levels: "info" (a fact worth knowing: a fill), "warning" (something refused or degraded: a reject, stale data)
and "error" (something stopped: kill switch, a risk stop, a failed job). `channel_failure` and `test` are the
alerts' own: a channel that could not deliver, and `ivybt alerts test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["info", "warning", "error"]
LEVELS: tuple[Level, ...] = ("info", "warning", "error")

EVENTS: dict[str, tuple[Level, str]] = {
    "fill": ("info", "an order filled (fully or partly)"),
    "reject": ("warning", "the broker rejected or cancelled an order"),
    "protective_triggered": ("warning", "a protective order (stop, take-profit, trailing stop) triggered"),
    "risk_stop": ("error", "a risk rule stopped trading (daily loss, drawdown, leverage)"),
    "kill_switch": ("error", "the kill switch was turned on or off"),
    "flatten": ("error", "the account was flattened (cancel all, close all)"),
    "batch_job_failed": ("error", "a batch job failed"),
    "approval_needed": ("warning", "a scheduled daily run made a plan that waits for approval on Daily Ops"),
    "scheduled_run_blocked": (
        "error",
        "a scheduled daily run sent nothing (a check or the kill switch blocked it) or did not complete",
    ),
    "stale_data": ("warning", "signals failed or were computed on stale data"),
    "screen_changed": ("info", "a scheduled screen's result changed: symbols entered or left it"),
    "channel_failure": ("warning", "an alert channel could not deliver an alert"),
    "test": ("info", "a test alert (`ivybt alerts test`)"),
}
"""event name -> (default level, what it means)."""


def check_event(event: str) -> str:
    """`event` if it is known; ValueError naming it and the known events otherwise."""
    if event not in EVENTS:
        raise ValueError(f"unknown alert event {event!r}; known: {', '.join(EVENTS)}")
    return event


def check_level(level: str) -> Level:
    """`level` as a Level; ValueError naming it otherwise."""
    for known in LEVELS:
        if level == known:
            return known
    raise ValueError(f"unknown alert level {level!r}; known: {', '.join(LEVELS)}")


@dataclass(frozen=True)
class Alert:
    """One alert: `event` (a key of EVENTS), `level`, a one-line `title` and a free `text` (may be empty)."""

    event: str
    title: str
    text: str = ""
    level: Level = "info"

    def lines(self) -> list[str]:
        """The text's non-empty lines."""
        return [line for line in self.text.splitlines() if line.strip()]

"""IBKR settings from the environment: IBKR_HOST / IBKR_PORT / IBKR_CLIENT_ID / IBKR_ACCOUNT / IBKR_LIVE, and the
waits IVYBT_IBKR_TIMEOUT / IVYBT_IBKR_OUTAGE_WAIT / IVYBT_IBKR_PACING_WAIT (seconds).

SDK-free, so reading them costs no ib_async import. TWS / IB Gateway log in themselves: there are no keys.
"""

from __future__ import annotations

import math
import os
from typing import Any

from brokers.base import BrokerConfigError, env_flag

TIMEOUT_ENV = "IVYBT_IBKR_TIMEOUT"
"""Seconds to wait for TWS at each step (handshake, start-up sync, each request): IbkrBroker(timeout=...)."""
OUTAGE_WAIT_ENV = "IVYBT_IBKR_OUTAGE_WAIT"
"""Seconds an order waits while TWS has lost IB (error 1100): IbkrBroker(outage_wait=...)."""
PACING_WAIT_ENV = "IVYBT_IBKR_PACING_WAIT"
"""Seconds to wait after a historical-data pacing violation before asking again: IbkrBroker(pacing_wait=...)."""

INT_SETTINGS: tuple[tuple[str, str], ...] = (("IBKR_PORT", "port"), ("IBKR_CLIENT_ID", "client_id"))
SECONDS_SETTINGS: tuple[tuple[str, str], ...] = (
    (TIMEOUT_ENV, "timeout"),
    (OUTAGE_WAIT_ENV, "outage_wait"),
    (PACING_WAIT_ENV, "pacing_wait"),
)


def env_settings() -> dict[str, Any]:
    """The IbkrBroker arguments set in the environment; BrokerConfigError names a variable with a bad value."""
    env = os.environ
    out: dict[str, Any] = {}
    if env.get("IBKR_HOST"):
        out["host"] = env["IBKR_HOST"]
    for var, key in INT_SETTINGS:
        if env.get(var):
            try:
                out[key] = int(env[var])
            except ValueError as e:
                raise BrokerConfigError(f"{var}={env[var]!r} is not an integer") from e
    for var, key in SECONDS_SETTINGS:
        if env.get(var):
            out[key] = _seconds(var, env[var])
    if env.get("IBKR_ACCOUNT"):
        out["account"] = env["IBKR_ACCOUNT"]
    if "IBKR_LIVE" in env:
        out["live"] = env_flag(env["IBKR_LIVE"])
    return out


def _seconds(var: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BrokerConfigError(f"{var}={text!r} must be a number of seconds > 0")
    return value

"""IBKR settings from the environment (IBKR_HOST / IBKR_PORT / IBKR_CLIENT_ID / IBKR_ACCOUNT / IBKR_LIVE).

SDK-free, so reading them costs no ib_async import. TWS / IB Gateway log in themselves: there are no keys.
"""

from __future__ import annotations

import os
from typing import Any

from brokers.base import BrokerConfigError, env_flag

INT_SETTINGS: tuple[tuple[str, str], ...] = (("IBKR_PORT", "port"), ("IBKR_CLIENT_ID", "client_id"))


def env_settings() -> dict[str, Any]:
    """The IbkrBroker arguments set in the environment; BrokerConfigError names a variable that is not an integer."""
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
    if env.get("IBKR_ACCOUNT"):
        out["account"] = env["IBKR_ACCOUNT"]
    if "IBKR_LIVE" in env:
        out["live"] = env_flag(env["IBKR_LIVE"])
    return out

"""Alpaca settings from the environment, keys and endpoint URLs: SDK-free, so reading them costs no alpaca-py import.

Non-secret settings (`env_settings`) may be shown or cached; keys (`credentials`) go to the SDK only.
"""

from __future__ import annotations

import math
import os
from typing import Any

from brokers.base import AuthError, BrokerConfigError, env_flag

ENV_SETTINGS: tuple[tuple[str, str], ...] = (
    ("ALPACA_BASE_URL", "base_url"),
    ("ALPACA_DATA_URL", "data_url"),
    ("ALPACA_FEED", "feed"),
)


TIMEOUT_ENV = "IVYBT_ALPACA_TIMEOUT"  # seconds per HTTP request to Alpaca
DEFAULT_TIMEOUT = 10.0


def env_settings() -> dict[str, Any]:
    """ALPACA_BASE_URL / ALPACA_DATA_URL / ALPACA_FEED / ALPACA_LIVE / IVYBT_ALPACA_TIMEOUT as AlpacaBroker
    arguments (never keys); a timeout that is not a number of seconds > 0 is a BrokerConfigError naming it."""
    env = os.environ
    out: dict[str, Any] = {key: env[var] for var, key in ENV_SETTINGS if env.get(var)}
    if "ALPACA_LIVE" in env:
        out["live"] = env_flag(env["ALPACA_LIVE"])
    if env.get(TIMEOUT_ENV):
        out["timeout"] = seconds(env[TIMEOUT_ENV], TIMEOUT_ENV)
    return out


def seconds(value: object, what: str) -> float:
    """`value` as a finite number of seconds > 0; BrokerConfigError naming `what` and the value otherwise."""
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as e:
        raise BrokerConfigError(f"alpaca: {what}={value!r} is not a number of seconds") from e
    if isinstance(value, bool) or not math.isfinite(out) or out <= 0:
        raise BrokerConfigError(f"alpaca: {what}={value!r} must be a number of seconds > 0")
    return out


def credentials(api_key: str | None = None, secret_key: str | None = None) -> tuple[str, str]:
    """Keys from the arguments, else ALPACA_API_KEY / ALPACA_SECRET_KEY, else APCA_API_KEY_ID / APCA_API_SECRET_KEY."""
    key = api_key or os.environ.get("ALPACA_API_KEY") or os.environ.get("APCA_API_KEY_ID")
    secret = secret_key or os.environ.get("ALPACA_SECRET_KEY") or os.environ.get("APCA_API_SECRET_KEY")
    if not key or not secret:
        raise AuthError(
            "alpaca: API keys missing: pass api_key/secret_key or set ALPACA_API_KEY and "
            "ALPACA_SECRET_KEY (or APCA_API_KEY_ID and APCA_API_SECRET_KEY)"
        )
    return key, secret


def clean_url(url: str | None, what: str) -> str | None:
    """Normalize a `url_override`: alpaca-py appends /v2 itself, so a trailing slash or /v2 is removed."""
    if url is None:
        return None
    url = url.strip().rstrip("/")
    if url.endswith("/v2"):
        url = url[:-3]
    if not url.startswith(("http://", "https://")):
        raise BrokerConfigError(f"alpaca: {what} {url!r} must start with http:// or https://")
    return url

"""Broker adapters behind one protocol (brokers.base.Broker): paper (default), Alpaca, Interactive Brokers.

    from brokers import make_broker, OrderRequest
    broker = make_broker("paper")                  # or "alpaca" / "ibkr"; settings from env when not given
    broker.submit(OrderRequest("SPY", 10, "buy", client_order_id="plan42-SPY"))

SDKs (alpaca-py, ib_async) are imported only when their adapter is made. Secrets are read from the
environment by the adapters and never kept in settings returned here, presets, logs or the database; use
`redact()` before recording any settings.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from brokers.base import (
    Account,
    AuthError,
    Broker,
    BrokerCapabilities,
    BrokerConfigError,
    BrokerError,
    BrokerUnavailable,
    Fill,
    InsufficientFunds,
    InvalidOrder,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    Position,
    PriceUnavailable,
    retry,
)

BROKER_NAMES: tuple[str, ...] = ("paper", "alpaca", "ibkr")
SECRET_WORDS: tuple[str, ...] = ("key", "secret", "token", "password")

__all__ = [
    "Account",
    "AuthError",
    "BROKER_NAMES",
    "Broker",
    "BrokerCapabilities",
    "BrokerConfigError",
    "BrokerError",
    "BrokerUnavailable",
    "Fill",
    "InsufficientFunds",
    "InvalidOrder",
    "OrderAck",
    "OrderRejected",
    "OrderRequest",
    "OrderStatus",
    "Position",
    "PriceUnavailable",
    "make_broker",
    "redact",
    "retry",
]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _env_settings(name: str) -> dict[str, Any]:
    """Non-secret settings from the environment (keys are read by the adapter itself)."""
    env = os.environ
    out: dict[str, Any] = {}
    if name == "alpaca":
        for var, key in (("ALPACA_BASE_URL", "base_url"), ("ALPACA_DATA_URL", "data_url"), ("ALPACA_FEED", "feed")):
            if env.get(var):
                out[key] = env[var]
        if "ALPACA_LIVE" in env:
            out["live"] = _truthy(env["ALPACA_LIVE"])
    elif name == "ibkr":
        if env.get("IBKR_HOST"):
            out["host"] = env["IBKR_HOST"]
        for var, key in (("IBKR_PORT", "port"), ("IBKR_CLIENT_ID", "client_id")):
            if env.get(var):
                try:
                    out[key] = int(env[var])
                except ValueError as e:
                    raise BrokerConfigError(f"{var}={env[var]!r} is not an integer") from e
        if env.get("IBKR_ACCOUNT"):
            out["account"] = env["IBKR_ACCOUNT"]
        if "IBKR_LIVE" in env:
            out["live"] = _truthy(env["IBKR_LIVE"])
    return out


def _factory(name: str) -> Callable[..., Broker]:
    if name == "paper":
        from brokers.paper import PaperBroker

        return PaperBroker
    if name == "alpaca":
        from brokers.alpaca import AlpacaBroker

        return AlpacaBroker
    from brokers.ibkr import IbkrBroker

    return IbkrBroker


def make_broker(name: str | None = None, **settings: Any) -> Broker:
    """Create a broker by name ("paper", "alpaca", "ibkr"; default env IVYBT_BROKER, else "paper").

    Settings not given come from the environment: ALPACA_BASE_URL / ALPACA_DATA_URL / ALPACA_FEED /
    ALPACA_LIVE, IBKR_HOST / IBKR_PORT / IBKR_CLIENT_ID / IBKR_ACCOUNT / IBKR_LIVE (keys: see brokers.alpaca).
    Live trading additionally needs IVYBT_ALLOW_LIVE=1. Unknown names or settings raise BrokerConfigError.
    """
    key = (name or os.environ.get("IVYBT_BROKER") or "paper").strip().lower()
    if key not in BROKER_NAMES:
        raise BrokerConfigError(f"unknown broker {name!r}; expected one of {BROKER_NAMES}")
    cls = _factory(key)
    allowed = {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise BrokerConfigError(f"{key} broker: unknown setting(s) {unknown}; expected some of {sorted(allowed)}")
    merged = {**_env_settings(key), **settings}
    return cls(**merged)


def redact(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of `settings` safe to log or store: values of secret-looking keys replaced by "***"."""
    return {k: ("***" if any(w in k.lower() for w in SECRET_WORDS) and v else v) for k, v in settings.items()}

"""Broker adapters behind one protocol (brokers.base.Broker): paper (default), Alpaca, Interactive Brokers.

    from brokers import make_broker, OrderRequest
    broker = make_broker("paper")                  # or "alpaca" / "ibkr"; settings from env when not given
    broker.submit(OrderRequest("SPY", 10, "buy", client_order_id="plan42-SPY"))

The brokers are listed in `brokers.registry` (one entry each; one folder each: brokers/paper, brokers/alpaca,
brokers/ibkr). SDKs (alpaca-py, ib_async) are imported only when their adapter is made. Secrets are read from the
environment by the adapters and never kept in settings returned here, presets, logs or the database; use
`redact()` before recording any settings.
"""

from __future__ import annotations

import inspect
import os
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
from brokers.registry import BROKER_NAMES, REGISTRY, adapter_class, entry, env_settings

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
    "REGISTRY",
    "env_settings",
    "make_broker",
    "redact",
    "retry",
]


def make_broker(name: str | None = None, **settings: Any) -> Broker:
    """Create a broker by name (one of `BROKER_NAMES`, any case; default env IVYBT_BROKER, else "paper").

    Settings not given come from the environment through the registry's settings readers: ALPACA_BASE_URL /
    ALPACA_DATA_URL / ALPACA_FEED / ALPACA_LIVE / IVYBT_ALPACA_TIMEOUT, IBKR_HOST / IBKR_PORT / IBKR_CLIENT_ID /
    IBKR_ACCOUNT / IBKR_LIVE / IVYBT_IBKR_TIMEOUT / IVYBT_IBKR_OUTAGE_WAIT / IVYBT_IBKR_PACING_WAIT, the paper
    account's IVYBT_PAPER_BORROW_BPS / IVYBT_PAPER_MARGIN_RATE / IVYBT_PAPER_CASH_RATE (keys: see
    brokers.alpaca.settings). Live trading additionally needs IVYBT_ALLOW_LIVE=1. Unknown names or
    settings raise BrokerConfigError.
    """
    key = entry(name or os.environ.get("IVYBT_BROKER") or "paper").name
    cls = adapter_class(key)
    allowed = {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise BrokerConfigError(f"{key} broker: unknown setting(s) {unknown}; expected some of {sorted(allowed)}")
    merged = {**env_settings(key), **settings}
    return cls(**merged)


def redact(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of `settings` safe to log or store: values of secret-looking keys replaced by "***"."""
    return {k: ("***" if any(w in k.lower() for w in SECRET_WORDS) and v else v) for k, v in settings.items()}

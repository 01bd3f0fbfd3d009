"""The paper account's financing from the environment: a short's borrow fee, interest on cash and on negative cash.

IVYBT_PAPER_BORROW_BPS (annual basis points on a short's market value), IVYBT_PAPER_MARGIN_RATE (annual rate paid
on negative cash; unset = the cash rate) and IVYBT_PAPER_CASH_RATE (annual rate earned on positive cash), each
charged once per elapsed day (brokers.paper.financing). Unset: nothing is charged, as before these settings.
"""

from __future__ import annotations

import math
from typing import Any

from brokers.base import BrokerConfigError
from engine.config import Financing
from engine.errors import ConfigError
from engine.settings import env_number

BORROW_ENV = "IVYBT_PAPER_BORROW_BPS"
MARGIN_ENV = "IVYBT_PAPER_MARGIN_RATE"
CASH_ENV = "IVYBT_PAPER_CASH_RATE"


def env_settings() -> dict[str, Any]:
    """PaperBroker arguments `financing` and `cash_rate` from the environment (only those set); the bounds are the
    backtest's own (engine.config.Financing), a value outside them is a BrokerConfigError naming the variable."""
    out: dict[str, Any] = {}
    borrow, margin = (
        env_number(v, None, math.isfinite, "must be a number", error=BrokerConfigError)
        for v in (BORROW_ENV, MARGIN_ENV)
    )
    cash = env_number(
        CASH_ENV, None, lambda v: -1.0 <= v <= 1.0, "must be an annual rate between -1 and 1", error=BrokerConfigError
    )
    if borrow is not None or margin is not None:
        try:
            out["financing"] = Financing(borrow_bps=borrow or 0.0, margin_rate=margin)
        except ConfigError as e:
            raise BrokerConfigError(f"{BORROW_ENV} / {MARGIN_ENV}: {e}") from None
    if cash is not None:
        out["cash_rate"] = cash
    return out

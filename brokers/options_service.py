"""The option operations both front ends perform (`ivybt options ...` and, later, a page), once each.

`option_chain_frame` reads any option-capable broker's chain (brokers.base.OptionsBroker) as a table;
`set_paper_option_vol` / `paper_option_vol` edit and read the implied vol that prices the paper account's options
(brokers.paper.options: set, else 60-day realized, else 0.25), and a change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pandas as pd

from brokers.base import Broker, BrokerConfigError, OptionsBroker
from brokers.paper.adapter import PaperBroker
from engine.ops.audit_log import AuditLog

Origin = Literal["app", "cli"]
CHAIN_COLUMNS: tuple[str, ...] = (
    "symbol",
    "expiry",
    "right",
    "strike",
    "bid",
    "ask",
    "last",
    "mid",
    "implied_vol",
    "delta",
    "gamma",
    "theta",
    "vega",
    "underlying_price",
    "open_interest",
    "multiplier",
)


def option_chain_frame(broker: Broker, underlying: str, expiry: dt.date | None = None) -> pd.DataFrame:
    """The chain of `underlying` on `broker` (one row per contract, CHAIN_COLUMNS; None where the venue gives
    nothing); BrokerConfigError for a broker without options."""
    if not broker.capabilities.options or not isinstance(broker, OptionsBroker):
        raise BrokerConfigError(f"{broker.name}: no option support (capabilities.options is off)")
    rows = [
        (
            q.symbol,
            q.expiry,
            q.contract.right,
            float(q.contract.strike),
            q.bid,
            q.ask,
            q.last,
            q.mid,
            q.implied_vol,
            q.delta,
            q.gamma,
            q.theta,
            q.vega,
            q.underlying_price,
            q.open_interest,
            q.contract.multiplier,
        )
        for q in broker.option_chain(underlying, expiry)
    ]
    return pd.DataFrame(rows, columns=list(CHAIN_COLUMNS))


def paper_option_vol(underlying: str, broker: PaperBroker | None = None) -> tuple[float, str]:
    """(vol, source) pricing the paper options of `underlying`: "set", "realized 60d" or "default" (0.25)."""
    return (broker if broker is not None else PaperBroker()).option_vol(underlying)


def set_paper_option_vol(
    underlying: str, vol: float, origin: Origin = "app", broker: PaperBroker | None = None
) -> tuple[float, str]:
    """Set the implied vol (annual decimal, 0 < vol <= 5) of `underlying`'s paper options and audit it; returns
    (vol, source) afterwards."""
    paper = broker if broker is not None else PaperBroker()
    before = paper.option_vol(underlying)
    paper.set_option_vol(underlying, vol)
    symbol = underlying.strip().upper()
    AuditLog(paper.db_path).event(
        "account",
        f"paper option vol of {symbol} set to {vol:.4g} (was {before[0]:.4g}, {before[1]}) ({origin})",
        symbol=symbol,
        payload={"broker": "paper", "underlying": symbol, "vol": vol, "previous": before[0]},
    )
    return paper.option_vol(underlying)

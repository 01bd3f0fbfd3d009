"""How fresh each symbol's data is: its last bar and how many NYSE trading days it is behind.

The expected last bar is the latest trading day whose session is final at `now` (today in New York from 16:15,
else the trading day before; weekends and NYSE holidays skipped, `engine.ops.trading_days`). A symbol's age is
the number of trading days after its last bar up to that day: 0 = up to date. Crypto symbols trade every day
but are measured on the same NYSE calendar (a weekend does not make them look stale).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from engine.data.update import last_final_day
from engine.ops.trading_days import is_trading_day

FRESHNESS_COLUMNS: tuple[str, ...] = ("symbol", "source", "last", "age_trading_days")


def expected_session(now: pd.Timestamp | None = None) -> date:
    """The latest NYSE trading day whose daily bar is final at `now` (default: the current time)."""
    day = last_final_day(now).date()
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def trading_days_behind(last: date, expected: date) -> int:
    """Trading days d with last < d <= expected (0 when `last` is on or after `expected`)."""
    if last >= expected:
        return 0
    return sum(1 for d in pd.date_range(last + timedelta(days=1), expected, freq="D") if is_trading_day(d.date()))


def add_freshness(info: pd.DataFrame, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """`info` (a `symbol_info` table) with an ``age_trading_days`` column (nullable int; empty when the symbol
    cannot be loaded)."""
    expected = expected_session(now)
    out = info.copy()
    ages = [
        pd.NA if pd.isna(last) else trading_days_behind(pd.Timestamp(last).date(), expected) for last in out["last"]
    ]
    out["age_trading_days"] = pd.array(ages, dtype="Int64")
    return out


def freshness_table(info: pd.DataFrame, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Symbol, source, last bar and age in trading days, stalest first (then by symbol)."""
    table = add_freshness(info, now)[list(FRESHNESS_COLUMNS)]
    return table.sort_values(["age_trading_days", "symbol"], ascending=[False, True], na_position="first")

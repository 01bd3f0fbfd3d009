"""Freshness per symbol: the last final session and the age in NYSE trading days, against hand counts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from engine.ops.freshness import add_freshness, expected_session, trading_days_behind

NY = "America/New_York"


@pytest.mark.parametrize(
    "now, expected",
    [
        ("2026-06-13 09:00", date(2026, 6, 12)),  # Saturday -> Friday
        ("2026-06-15 10:00", date(2026, 6, 12)),  # Monday morning -> Friday
        ("2026-06-15 16:14", date(2026, 6, 12)),  # Monday, just before the bar is final
        ("2026-06-15 16:15", date(2026, 6, 15)),  # Monday after the close
        ("2026-06-19 18:00", date(2026, 6, 18)),  # Juneteenth (Friday, NYSE closed) -> Thursday
        ("2026-07-06 08:00", date(2026, 7, 2)),  # Monday; Friday July 3 is the observed Independence Day
    ],
)
def test_expected_session(now: str, expected: date) -> None:
    assert expected_session(pd.Timestamp(now, tz=NY)) == expected


def test_trading_days_behind_hand_counts() -> None:
    # after Tue 2026-06-09 up to Mon 2026-06-22: 10, 11, 12, 15, 16, 17, 18, 22 (19th: Juneteenth) = 8
    assert trading_days_behind(date(2026, 6, 9), date(2026, 6, 22)) == 8
    assert trading_days_behind(date(2026, 6, 12), date(2026, 6, 15)) == 1  # the weekend does not count
    assert trading_days_behind(date(2026, 6, 15), date(2026, 6, 15)) == 0
    assert trading_days_behind(date(2026, 6, 16), date(2026, 6, 15)) == 0  # newer than expected (crypto)


def test_add_freshness_column() -> None:
    info = pd.DataFrame(
        {
            "symbol": ["SPY", "BAD", "BTC-USD"],
            "source": ["bundled", "workspace", "bundled"],
            "last": [pd.Timestamp("2026-06-09"), pd.NaT, pd.Timestamp("2026-06-22")],
        }
    )
    out = add_freshness(info, pd.Timestamp("2026-06-22 17:00", tz=NY))
    ages = out["age_trading_days"]
    assert ages.isna().tolist() == [False, True, False]
    assert (ages[0], ages[2]) == (8, 0)
    assert str(out["age_trading_days"].dtype) == "Int64"

"""NYSE trading days: Monday to Friday minus the exchange's regular holidays (for scheduled daily operations).

No exchange calendar package is installed, so the rules are pandas' holiday rules (pandas.tseries.holiday) set
to the NYSE's regular holidays: New Year's Day (a Sunday moves to Monday, a Saturday is not made up), Martin
Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day, Juneteenth (from 2022),
Independence Day, Labor Day, Thanksgiving and Christmas (the last three of these fixed dates move a Saturday to
Friday and a Sunday to Monday). One-off closures (a national day of mourning, a storm) are not known: on such a
day a schedule runs and the data-freshness check of its plan says so.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
    sunday_to_monday,
)


class NyseHolidays(AbstractHolidayCalendar):
    """The NYSE's regular full-day holidays (see the module docstring)."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        USMartinLutherKingJr,
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas", month=12, day=25, observance=nearest_workday),
    ]


@functools.lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[date]:
    """The NYSE holidays (observed dates) of `year`."""
    days = NyseHolidays().holidays(f"{year}-01-01", f"{year}-12-31")
    return frozenset(d.date() for d in days)


def is_trading_day(day: date) -> bool:
    """Monday to Friday and not an NYSE holiday."""
    return day.weekday() < 5 and day not in holidays(day.year)


def next_trading_day(day: date) -> date:
    """The first trading day strictly after `day`."""
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day

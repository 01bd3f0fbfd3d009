"""Backtest and Optimize propose the same start date on a first visit: one default (engine.config.DEFAULT_START).

The old forms disagreed (Backtest 2010-01-01, Optimize 2005-01-01), so the same settings covered different bars.
"""

from __future__ import annotations

import datetime as dt

from engine.config import DEFAULT_START
from tests.pages.page_helpers import assert_clean, page


def test_backtest_and_optimize_forms_start_on_the_one_default_date(workspace) -> None:
    backtest = page("backtest")
    backtest.run()
    optimize = page("optimize")
    optimize.run()
    assert_clean(backtest)
    assert_clean(optimize)
    assert backtest.date_input(key="bt_start").value == dt.date(2010, 1, 1)
    assert optimize.date_input(key="opt_start").value == dt.date(2010, 1, 1)
    assert DEFAULT_START == "2010-01-01"

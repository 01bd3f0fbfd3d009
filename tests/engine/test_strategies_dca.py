"""dca on a 12-bar case worked out by hand (tranches, a dip buy, the weight path), and the DCA metrics of a
run: average cost = money spent / units bought from the fills, money-weighted return = the root of the NPV
found by scipy's brentq, annualized."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from engine.config import BacktestConfig, Costs
from engine.data.market import MarketData
from engine.metrics.registry import format_value, label, metric
from engine.research.audit import audit_lookahead
from engine.research.dca_report import dca_metrics
from engine.sim.simulate import run_backtest
from engine.strategies.dca import Dca, buy_bars
from tests.engine.regime_helpers import bars
from tests.engine.test_strategies_common import market

DATES = pd.DatetimeIndex(
    [f"2024-{m:02d}-{d:02d}" for m in (1, 2, 3, 4) for d in (2, 3, 4)]
)  # 12 bars, 3 per month: buys at bars 0, 3, 6, 9
CLOSE = np.array([100.0, 102.0, 98.0, 90.0, 92.0, 96.0, 95.0, 97.0, 99.0, 101.0, 103.0, 104.0])


@pytest.fixture
def twelve() -> MarketData:
    return MarketData.from_frames({"A": bars(CLOSE, DATES)})


def test_twelve_bar_schedule_with_a_dip_by_hand(twelve: MarketData) -> None:
    dca = Dca({"tranches": 4, "dip_multiplier": 2.0, "dip_pct": 0.1, "dip_lookback": 3})
    assert np.flatnonzero(buy_bars(DATES, "monthly")).tolist() == [0, 3, 6, 9]
    # bar 0: 1/4 at 100. bar 3: 90 <= 0.9 x max(102, 98, 90) = 91.8, a dip: 2 tranches (1/2) at 90.
    # bar 6: 95 > 0.9 x max(92, 96, 95) = 86.4: 1 tranche, the last quarter. bar 9: nothing left.
    units = [0.25 / 100, 0.5 / 90, 0.25 / 95]
    book = dca.book(twelve)
    np.testing.assert_allclose(book.amount[:, 0], [0.25, 0, 0, 0.5, 0, 0, 0.25, 0, 0, 0, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(book.held[[0, 3, 6, 11], 0], np.cumsum(units)[[0, 1, 2, 2]], rtol=1e-12)
    w0 = 0.25
    w3 = (units[0] + units[1]) * 90 / ((units[0] + units[1]) * 90 + 0.25)
    expected = [w0] * 3 + [w3] * 3 + [1.0] * 6
    np.testing.assert_allclose(dca.target_weights(twelve)["A"].to_numpy(), expected, rtol=1e-12)
    # the book's average cost after the last buy: 1 / units
    line = dca.plot_series(twelve)["average cost"].values["A"]
    assert line.iloc[-1] == pytest.approx(1.0 / sum(units), rel=1e-12) and line.iloc[0] == pytest.approx(100.0)


def test_without_dip_rule_every_buy_is_one_tranche(twelve: MarketData) -> None:
    book = Dca({"tranches": 4}).book(twelve)
    np.testing.assert_allclose(book.amount[[0, 3, 6, 9], 0], [0.25] * 4, rtol=1e-12)
    assert book.cash[-1, 0] == pytest.approx(0.0, abs=1e-15)


def test_weekly_buys_on_the_first_bar_of_each_iso_week() -> None:
    index = pd.bdate_range("2024-01-04", periods=8)  # Thu, Fri, Mon..Fri, Mon
    assert np.flatnonzero(buy_bars(index, "weekly")).tolist() == [0, 2, 7]


def test_run_metrics_average_cost_and_money_weighted_return(twelve: MarketData) -> None:
    config = BacktestConfig(costs=Costs(commission_bps=10), periods_per_year=252.0)
    run = run_backtest(twelve, Dca({"tranches": 4, "dip_multiplier": 2.0, "dip_pct": 0.1, "dip_lookback": 3}), config)
    table = dca_metrics(run, twelve, 252.0)
    fills = run.fills
    buys = fills[fills["quantity"] > 0]
    spent = (buys["quantity"] * buys["price"] + buys["commission"]).sum()
    assert len(buys) == 3 and (fills["quantity"] > 0).all()
    assert table.loc["A", "average_cost"] == pytest.approx(spent / buys["quantity"].sum(), rel=1e-12)
    assert table.loc["A", "invested"] == pytest.approx(spent, rel=1e-12)
    # money in at each fill's bar, the position's value out at the last close
    flows = np.zeros(12)
    for _, f in buys.iterrows():
        flows[DATES.get_loc(f["time"])] -= f["quantity"] * f["price"] + f["commission"]
    flows[-1] += run.positions["A"].iloc[-1] * CLOSE[-1]
    rate = brentq(lambda r: sum(f / (1 + r) ** t for t, f in enumerate(flows)), -0.5, 0.5, xtol=1e-14)
    assert table.loc["A", "money_weighted_return"] == pytest.approx((1 + rate) ** 252 - 1, rel=1e-8)
    assert label("money_weighted_return") == "Money-weighted return (% per year)"
    assert metric("average_cost").definition and format_value("money_weighted_return", 0.1234) == "12.34%"


def test_dca_passes_the_lookahead_audit() -> None:
    data = market("SPY", "BTC-USD").slice("2013-01-01", "2018-12-31")
    report = audit_lookahead(Dca({"tranches": 24, "dip_multiplier": 2.0}), data, n_checks=30)
    assert report.passed, report.summary()


def test_money_weighted_return_closed_form() -> None:
    from engine.metrics.dca import average_cost, money_weighted_return

    # 100 in at bar 0 and 100 at bar 1, worth 100 x 1.1^2 + 100 x 1.1 = 231 at bar 2: 10% per bar
    flows = np.array([[100.0], [100.0], [0.0]])
    value = np.array([[0.0], [0.0], [231.0]])
    assert money_weighted_return(flows, value, 1.0)[0] == pytest.approx(0.10, rel=1e-10)
    assert money_weighted_return(flows, value, 2.0)[0] == pytest.approx(1.1**2 - 1, rel=1e-10)
    assert np.isnan(money_weighted_return(np.zeros((3, 1)), value, 1.0)[0])  # nothing invested
    assert average_cost(np.array([[100.0], [50.0]]), np.array([[1.0], [1.0]]))[0] == 75.0

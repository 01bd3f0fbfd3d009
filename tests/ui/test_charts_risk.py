"""The Risk page's figures carry the book's numbers: heatmap cells (dollar figures, colour = column / its largest
absolute value, by hand), the payoff lines (at expiry = intrinsic x qty x 100 + shares, on the underlying's price
axis for a one-underlying book) and the what-if grid (each cell the engine's P&L of that price x vol shock)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from engine.whatif import Market, Scenario, pnl_grid, positions_from_records, prepare, revalue
from engine.whatif.greeks_book import greeks_book
from engine.whatif.payoff import payoff_table
from tests.engine.whatif.test_greeks_book import RECORDS
from ui.charts_risk import HEATMAP_GREEKS, exposure_heatmap, payoff_figure, whatif_grid_figure

MARKET = Market(dt.date(2026, 6, 9), 0.04, 0.01)


def test_exposure_heatmap_cells_are_the_books_dollars_coloured_per_column() -> None:
    book = greeks_book(positions_from_records(RECORDS), MARKET, "SPY", {"QQQ": 1.2}, 600.0)
    groups = book.by("symbol")
    (trace,) = exposure_heatmap(groups, "symbol").data
    assert list(trace.y) == ["SPY", "QQQ"]
    assert list(trace.x) == [
        "Dollar delta ($)",
        "Dollar gamma ($ per 1 %)",
        "Theta ($/day)",
        "Vega ($/vol pt)",
        "Beta-weighted dollar delta ($)",
    ]
    raw = np.array([[g[k] for k in HEATMAP_GREEKS] for g in groups], dtype=float)
    assert np.asarray(trace.customdata) == pytest.approx(raw)
    # colour: each column over its largest absolute value, by hand
    for j in range(raw.shape[1]):
        top = max(abs(raw[0, j]), abs(raw[1, j]))
        assert [row[j] for row in trace.z] == pytest.approx([raw[0, j] / top, raw[1, j] / top])
    assert trace.text[1][2] == f"{groups[1]['theta']:,.0f}"


def test_a_missing_beta_is_a_blank_cell_not_a_zero() -> None:
    book = greeks_book(positions_from_records(RECORDS), MARKET, "SPY", {}, 600.0)
    (trace,) = exposure_heatmap(book.by("symbol"), "symbol").data
    assert np.isnan(trace.z[1][4]) and trace.text[1][4] == "–"


def test_payoff_lines_for_one_underlying_on_its_price_axis() -> None:
    records = RECORDS[:2]  # 2 SPY 610 calls, -100 SPY
    holdings = prepare(positions_from_records(records), MARKET)
    payoff = payoff_table(holdings, MARKET, moves=[-0.1, 0.0, 0.1])
    expiry, today = payoff_figure(payoff).data[:2]
    assert list(expiry.x) == pytest.approx([540.0, 600.0, 660.0])
    base = payoff.base_value
    assert list(expiry.y) == pytest.approx([200 * max(s - 610, 0) - 100 * s - base for s in (540, 600, 660)])
    assert list(today.y) == pytest.approx([v - base for v in payoff.value_today])
    assert today.y[1] == pytest.approx(0.0)


def test_whatif_grid_cells_equal_the_engines_repricing_of_that_shock() -> None:
    holdings = prepare(positions_from_records(RECORDS), MARKET)
    grid = pnl_grid(holdings, MARKET, [-0.1, 0.0, 0.1], [0.0, 0.05], days=7)
    (trace,) = whatif_grid_figure(grid).data
    assert list(trace.y) == ["-10 %", "+0 %", "+10 %"] and list(trace.x) == ["+0 pts", "+5 pts"]
    cell = revalue(holdings, Scenario(price_shock=0.1, vol_shift=0.05, days=7), MARKET).pnl
    assert trace.z[2][1] == pytest.approx(cell)
    assert trace.zmax == pytest.approx(np.abs(np.array(grid.pnl)).max()) and trace.zmin == -trace.zmax

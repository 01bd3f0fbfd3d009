"""What-if repricing: an option's P&L equals the model repriced by hand, equities move by their shock, time runs
an option to its payoff, and the price x vol grid's cells are the same repricing."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from engine.errors import ConfigError
from engine.whatif import Market, Scenario, pnl_grid, positions_from_records, prepare, revalue
from tests.engine.whatif.hand import bsm

ASOF = dt.date(2026, 6, 1)
EXPIRY_DAYS = (dt.date(2026, 12, 18) - ASOF).days  # 200
CALL = {"symbol": "SPY261218C00600000", "quantity": 2, "price": 30.0, "implied_vol": 0.2, "underlying_price": 600.0}
MARKET = Market(ASOF, rate=0.04, dividend=0.01)


def one(records: list[dict], scenario: Scenario, market: Market = MARKET):
    return revalue(prepare(positions_from_records(records), market), scenario, market)


def test_single_option_pnl_equals_the_model_repriced_by_hand() -> None:
    scenario = Scenario(price_shock=-0.1, vol_shift=0.05, days=30)
    result = one([CALL], scenario)
    base = bsm("call", 600.0, 600.0, EXPIRY_DAYS / 365, 0.04, 0.2, 0.01)
    shocked = bsm("call", 540.0, 600.0, (EXPIRY_DAYS - 30) / 365, 0.04, 0.25, 0.01)
    row = result.rows[0]
    assert row.base_value == pytest.approx(2 * 100 * base, abs=1e-9)
    assert row.value == pytest.approx(2 * 100 * shocked, abs=1e-9)
    assert row.pnl == pytest.approx(2 * 100 * (shocked - base), abs=1e-9)
    assert result.pnl == pytest.approx(row.pnl, abs=1e-12)
    assert (row.shocked_underlying_price, row.shocked_vol) == (pytest.approx(540.0), pytest.approx(0.25))


def test_a_relative_vol_shock_and_a_short_put() -> None:
    put = {"symbol": "SPY   261218P00550000", "quantity": -3, "price": 12.0, "implied_vol": 0.22}
    spy = {"symbol": "SPY", "quantity": 10, "price": 600.0}  # the put's underlying price comes from here
    result = one([spy, put], Scenario(price_shock=0.05, vol_scale=1.5))
    t = EXPIRY_DAYS / 365
    expected = (
        -3 * 100 * (bsm("put", 630.0, 550.0, t, 0.04, 0.33, 0.01) - bsm("put", 600.0, 550.0, t, 0.04, 0.22, 0.01))
    )
    assert result.rows[1].pnl == pytest.approx(expected, abs=1e-9)
    assert result.rows[0].pnl == pytest.approx(10 * 600.0 * 0.05)
    assert result.pnl == pytest.approx(expected + 300.0)


def test_without_a_vol_the_base_value_is_the_quote() -> None:
    record = {k: v for k, v in CALL.items() if k != "implied_vol"}
    row = one([record], Scenario()).rows[0]
    assert row.base_value == pytest.approx(2 * 100 * 30.0, abs=1e-8)
    assert bsm("call", 600.0, 600.0, EXPIRY_DAYS / 365, 0.04, row.vol, 0.01) == pytest.approx(30.0, abs=1e-10)
    assert row.pnl == pytest.approx(0.0, abs=1e-8)


def test_equities_move_by_their_symbol_shock_else_the_uniform_one() -> None:
    records = [{"symbol": "SPY", "quantity": 100, "price": 600.0}, {"symbol": "AAPL", "quantity": -50, "price": 200.0}]
    result = one(records, Scenario(price_shock=-0.1, symbol_shocks={"aapl": 0.2}))
    assert [r.pnl for r in result.rows] == [pytest.approx(-6000.0), pytest.approx(-50 * 200.0 * 0.2)]
    assert result.base_value == pytest.approx(60_000.0 - 10_000.0)


def test_days_past_expiry_leave_the_payoff() -> None:
    row = one([CALL], Scenario(price_shock=0.1, days=EXPIRY_DAYS + 10)).rows[0]
    assert row.value == pytest.approx(2 * 100 * (660.0 - 600.0), abs=1e-9)


def test_vols_never_go_below_the_floor() -> None:
    row = one([CALL], Scenario(vol_shift=-1.0)).rows[0]
    assert row.shocked_vol == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({**CALL, "symbol": "SPY260515C00600000"}, "expired on 2026-05-15"),
        ({k: v for k, v in CALL.items() if k != "underlying_price"}, "no price for its underlying SPY"),
        ({**CALL, "implied_vol": None, "price": 0.5, "symbol": "SPY261218C00100000"}, "no volatility fits price 0.5"),
        ({**CALL, "implied_vol": -0.1}, "implied_vol -0.1 must be > 0"),
        ({"symbol": "SPY", "quantity": 1, "price": 600.0, "implied_vol": 0.2}, "implied_vol is for options"),
        ({"symbol": "SPY", "quantity": 1}, "missing field(s) ['price']"),
        ({"symbol": "SPY", "quantity": 1, "price": 1.0, "qty": 2}, "unknown field(s) ['qty']"),
    ],
)
def test_bad_positions_are_named(record: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        one([record], Scenario())


def test_grid_cells_are_the_model_repriced_by_hand() -> None:
    holdings = prepare(positions_from_records([CALL]), MARKET)
    grid = pnl_grid(holdings, MARKET, price_shocks=[-0.2, 0.0, 0.1], vol_shifts=[-0.05, 0.1], days=7)
    assert (len(grid.pnl), len(grid.pnl[0])) == (3, 2)
    base = bsm("call", 600.0, 600.0, EXPIRY_DAYS / 365, 0.04, 0.2, 0.01)
    t = (EXPIRY_DAYS - 7) / 365
    for i, p in enumerate(grid.price_shocks):
        for j, v in enumerate(grid.vol_shifts):
            hand = 200 * (bsm("call", 600.0 * (1 + p), 600.0, t, 0.04, 0.2 + v, 0.01) - base)
            assert grid.pnl[i][j] == pytest.approx(hand, abs=1e-8)


def test_market_rejects_a_rate_in_percent() -> None:
    with pytest.raises(ConfigError, match="rate 4: expected an annual decimal"):
        Market(ASOF, rate=4.0)


def test_a_relative_vix_move_multiplies_each_vol() -> None:
    put = {"symbol": "QQQ261218P00500000", "quantity": 1, "price": 20.0, "implied_vol": 0.3, "underlying_price": 520.0}
    absolute = Scenario.from_dict({"vix": {"start": 15.0, "end": 40.0, "multipliers": {"QQQ": 2.0}}})
    relative = Scenario.from_dict({"vix": {"start": 15.0, "end": 40.0, "kind": "relative"}})
    scaled = Scenario.from_dict({"vix": {"start": 15.0, "end": 40.0, "kind": "relative", "multipliers": {"QQQ": 2.0}}})
    assert [one([CALL, put], absolute).rows[i].shocked_vol for i in (0, 1)] == [
        pytest.approx(0.2 + 0.25),
        pytest.approx(0.3 + 0.25 * 2.0),
    ]
    assert one([put], relative).rows[0].shocked_vol == pytest.approx(0.3 * 40 / 15)
    assert one([put], scaled).rows[0].shocked_vol == pytest.approx(0.3 * (1 + (40 / 15 - 1) * 2.0))

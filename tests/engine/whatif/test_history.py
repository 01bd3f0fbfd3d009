"""Beta and VIX-by-history shocks: the betas and vol ratios equal a hand calculation on the bundled CSVs up to the
as-of date (no later bar is read), and a position's P&L follows them. `home`: a private, empty workspace, so the bundled sample is what is read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.errors import DataError
from engine.whatif import Market, Scenario, market_for, positions_from_records, prepare, revalue
from tests.engine.whatif.hand import bsm

ASOF = dt.date(2020, 12, 31)


def hand_returns(symbol: str, lookback: int, asof: dt.date = ASOF) -> tuple[np.ndarray, np.ndarray]:
    def closes(name: str) -> pd.Series:
        frame = pd.read_csv(SAMPLE_DIR / f"{name}.csv", parse_dates=["date"], index_col="date")
        return frame["close"][frame.index <= pd.Timestamp(asof)]

    both = pd.concat([closes(symbol), closes("SPY")], axis=1, join="inner").pct_change().dropna().tail(lookback)
    return both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()


def test_beta_shock_moves_each_symbol_by_its_beta_up_to_the_as_of_date(home: Path) -> None:
    records = [{"symbol": "AAPL", "quantity": 10, "price": 100.0}, {"symbol": "SPY", "quantity": 5, "price": 400.0}]
    holdings = prepare(positions_from_records(records), Market(ASOF))
    scenario = Scenario.from_dict({"beta_shock": {"move": -0.2, "benchmark": "SPY", "lookback": 120}})
    market = market_for(scenario, holdings, Market(ASOF))
    rs, rb = hand_returns("AAPL", 120)
    beta = np.polyfit(rb, rs, 1)[0]
    assert market.betas["AAPL"] == pytest.approx(beta, rel=1e-9)
    assert market.betas["SPY"] == 1.0
    result = revalue(holdings, scenario, market)
    assert result.rows[0].pnl == pytest.approx(10 * 100.0 * beta * -0.2, rel=1e-9)
    assert result.rows[1].pnl == pytest.approx(5 * 400.0 * -0.2)
    later = market_for(scenario, holdings, Market(dt.date(2021, 6, 30)))
    assert later.betas["AAPL"] != pytest.approx(beta, rel=1e-6)  # a later as-of date reads later bars


def test_vix_move_by_history_and_by_a_stated_multiplier(home: Path) -> None:
    records = [
        {"symbol": "AAPL210618C00130000", "quantity": 1, "price": 10.0, "implied_vol": 0.3, "underlying_price": 130.0},
        {"symbol": "TSLA210618P00600000", "quantity": 1, "price": 50.0, "implied_vol": 0.6, "underlying_price": 650.0},
    ]
    holdings = prepare(positions_from_records(records), Market(ASOF))
    scenario = Scenario.from_dict(
        {"vix": {"start": 15.0, "end": 40.0, "map": "history", "multipliers": {"tsla": 2.5}, "lookback": 60}}
    )
    market = market_for(scenario, holdings, Market(ASOF))
    rs, rb = hand_returns("AAPL", 60)
    ratio = np.std(rs, ddof=1) / np.std(rb, ddof=1)
    assert market.vol_ratios == {"AAPL": pytest.approx(ratio, rel=1e-9)}  # TSLA's is stated: not read
    result = revalue(holdings, scenario, market)
    assert result.rows[0].shocked_vol == pytest.approx(0.3 + 0.25 * ratio, rel=1e-12)
    assert result.rows[1].shocked_vol == pytest.approx(0.6 + 0.25 * 2.5)
    t = (dt.date(2021, 6, 18) - ASOF).days / 365
    expected = 100 * (bsm("call", 130.0, 130.0, t, 0.0, 0.3 + 0.25 * ratio) - bsm("call", 130.0, 130.0, t, 0.0, 0.3))
    assert result.rows[0].pnl == pytest.approx(expected, abs=1e-9)


def test_vix_by_multiplier_defaults_to_one_and_reads_no_data() -> None:
    records = [
        {"symbol": "ZZZZ210618C00010000", "quantity": 1, "price": 1.0, "implied_vol": 0.5, "underlying_price": 10.0}
    ]
    holdings = prepare(positions_from_records(records), Market(ASOF))
    scenario = Scenario.from_dict({"vix": {"start": 15.0, "end": 40.0}})
    result = revalue(holdings, scenario, market_for(scenario, holdings, Market(ASOF)))
    assert result.rows[0].shocked_vol == pytest.approx(0.75)


def test_a_symbol_without_history_is_named(home: Path) -> None:
    holdings = prepare(positions_from_records([{"symbol": "ZZZZ", "quantity": 1, "price": 1.0}]), Market(ASOF))
    scenario = Scenario.from_dict({"beta_shock": {"move": -0.2}})
    with pytest.raises(DataError, match="unknown symbol 'ZZZZ'"):
        market_for(scenario, holdings, Market(ASOF))

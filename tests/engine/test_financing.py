"""Financing in the simulator (engine.config.Financing, cash_rate): borrow fee on shorts, margin interest on negative
cash, interest on positive cash, each its own line. Every expected number is recomputed here in plain Python,
bar by bar, from the rule: at the start of bar t (t > 0), on the state at the close of t-1, positive cash grows
by (1 + cash_rate) ** (1 / P), negative cash by (1 + margin_rate) ** (1 / P), and each short pays its market value
at that close x ((1 + bps / 1e4) ** (1 / P) - 1); then orders fill at the open (no costs here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Financing, Risk
from engine.data import load_market_data
from engine.data.market import MarketData
from engine.errors import ConfigError
from engine.metrics.registry import KEYS, format_value, label
from engine.sim.grid import run_grid
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy, get_strategy
from tests.engine.test_simulate_rules import Fixed

P = 252.0
CLOSES = {
    "X": [100.0, 102.0, 98.0, 95.0, 97.0, 101.0, 104.0, 99.0],
    "Y": [50.0, 49.0, 51.0, 52.0, 50.0, 48.0, 47.0, 49.0],
}


def two_symbols() -> tuple[MarketData, pd.DatetimeIndex]:
    """X and Y on 8 business days; each bar opens 1% above the previous close (so open != close)."""
    idx = pd.bdate_range("2024-01-01", periods=8)
    frames = {}
    for sym, closes in CLOSES.items():
        c = np.array(closes)
        o = np.concatenate(([c[0]], c[:-1] * 1.01))
        frames[sym] = pd.DataFrame(
            {"open": o, "high": np.maximum(o, c) + 1, "low": np.minimum(o, c) - 1, "close": c, "volume": 1e6}, index=idx
        )
    return MarketData.from_frames(frames), idx


def hand(targets: dict[str, float], cash_rate: float, margin_rate: float, bps: dict[str, float]) -> dict[str, list]:
    """The bar-by-bar account of constant target weights decided at close 0 and filled at open 1 (no costs)."""
    opens = {s: [c[0]] + [x * 1.01 for x in c[:-1]] for s, c in CLOSES.items()}
    cash, q = 100_000.0, dict.fromkeys(CLOSES, 0.0)
    out: dict[str, list] = {"equity": [], "borrow": [], "margin": [], "interest": []}
    for t in range(8):
        borrow = margin = interest = 0.0
        if t > 0:
            if cash > 0:
                interest = cash * ((1 + cash_rate) ** (1 / P) - 1)
            elif cash < 0:
                margin = -cash * ((1 + margin_rate) ** (1 / P) - 1)
            for s in CLOSES:
                if q[s] < 0:
                    borrow += -q[s] * CLOSES[s][t - 1] * ((1 + bps.get(s, 0.0) / 1e4) ** (1 / P) - 1)
            cash += interest - margin - borrow
        if t == 1:  # the decision of close 0 fills at open 1, sized on the equity at that open
            value = cash
            for s, w in targets.items():
                q[s] = w * value / opens[s][1]
                cash -= q[s] * opens[s][1]
        out["equity"].append(cash + sum(q[s] * CLOSES[s][t] for s in CLOSES))
        out["borrow"].append(borrow)
        out["margin"].append(margin)
        out["interest"].append(interest)
    return out


def run(targets: dict[str, float], config: BacktestConfig):
    data, idx = two_symbols()
    w = pd.DataFrame({s: [targets.get(s, 0.0)] * 8 for s in CLOSES}, index=idx)
    return run_backtest(data, Fixed(w), config)


def test_borrow_fee_per_bar_is_the_short_value_times_the_per_bar_rate_with_a_per_symbol_override():
    fin = Financing(borrow_bps=300.0, borrow_bps_by_symbol={"y": 1000.0, "NOT_TRADED": 50.0})
    config = BacktestConfig(cash_rate=0.02, financing=fin)
    targets = {"X": -0.5, "Y": -0.3}
    res = run(targets, config)
    want = hand(targets, 0.02, 0.02, {"X": 300.0, "Y": 1000.0})
    np.testing.assert_allclose(res.financing["borrow_cost"].to_numpy(), want["borrow"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.financing["cash_interest"].to_numpy(), want["interest"], rtol=1e-12)
    np.testing.assert_allclose(res.equity.to_numpy(), want["equity"], rtol=1e-12)
    # bar 2's fee by hand: X's and Y's shorts at close 1 (units from open 1) at 3% and 10% a year
    units_x = -0.5 * (100_000 * 1.02 ** (1 / P)) / (100 * 1.01)
    units_y = -0.3 * (100_000 * 1.02 ** (1 / P)) / (50 * 1.01)
    fee2 = -units_x * 102 * (1.03 ** (1 / P) - 1) - units_y * 49 * (1.10 ** (1 / P) - 1)
    assert res.financing["borrow_cost"].iloc[2] == pytest.approx(fee2, rel=1e-12)
    # equity = the fee-free run's equity minus the fees, each grown at the cash rate from when it was paid
    free = run(targets, BacktestConfig(cash_rate=0.02))
    paid, lost = want["borrow"], []
    for t in range(8):
        lost.append(sum(paid[k] * 1.02 ** ((t - k) / P) for k in range(1, t + 1)))
    np.testing.assert_allclose(free.equity.to_numpy() - res.equity.to_numpy(), lost, rtol=1e-9, atol=1e-9)
    assert res.metrics["borrow_cost"] == pytest.approx(sum(paid), rel=1e-12)
    assert res.metrics["margin_interest"] == 0.0


def test_margin_interest_on_a_leveraged_long():
    config = BacktestConfig(
        cash_rate=0.02, risk=Risk(max_leverage=1.5), financing=Financing(margin_rate=0.08, borrow_bps=500.0)
    )
    res = run({"X": 1.5}, config)
    want = hand({"X": 1.5}, 0.02, 0.08, {})
    assert res.cash.iloc[1] == pytest.approx(-0.5 * 100_000 * 1.02 ** (1 / P), rel=1e-12)  # owes half its equity
    np.testing.assert_allclose(res.financing["margin_interest"].to_numpy(), want["margin"], rtol=1e-12)
    assert res.financing["margin_interest"].iloc[2] == pytest.approx(-res.cash.iloc[1] * (1.08 ** (1 / P) - 1))
    assert (res.financing["borrow_cost"] == 0).all()  # a long pays no borrow fee
    np.testing.assert_allclose(res.equity.to_numpy(), want["equity"], rtol=1e-12)
    assert res.metrics["margin_interest"] == pytest.approx(sum(want["margin"]), rel=1e-12)
    assert res.metrics["cash_interest"] == pytest.approx(want["interest"][1], rel=1e-12)  # bar 1 only


def test_without_a_margin_rate_negative_cash_pays_the_cash_rate_as_before():
    lever = Risk(max_leverage=1.5)
    implicit = run({"X": 1.5}, BacktestConfig(cash_rate=0.04, risk=lever))
    explicit = run({"X": 1.5}, BacktestConfig(cash_rate=0.04, risk=lever, financing=Financing(margin_rate=0.04)))
    assert np.array_equal(implicit.equity.to_numpy(), explicit.equity.to_numpy())
    assert implicit.metrics["margin_interest"] == pytest.approx(sum(hand({"X": 1.5}, 0.04, 0.04, {})["margin"]))


def test_the_cash_interest_line_is_the_cash_rate_effect():
    res = run({}, BacktestConfig(cash_rate=0.05))
    assert res.metrics["cash_interest"] == pytest.approx(res.equity.iloc[-1] - 100_000, rel=1e-12)
    assert res.metrics["cash_interest"] == pytest.approx(100_000 * (1.05 ** (7 / P) - 1), rel=1e-12)


def test_defaults_charge_nothing_and_add_no_metric():
    res = run({"X": -0.5}, BacktestConfig())
    assert list(res.metrics) == list(KEYS)
    assert (res.financing.to_numpy() == 0).all()
    assert label("borrow_cost") == "Borrow fee (currency)" and format_value("margin_interest", 1234.5) == "1,234.50"


def test_config_bounds_and_symbols():
    fin = BacktestConfig.from_dict({"financing": {"borrow_bps_by_symbol": {" tsla ": 500}}}).financing
    assert fin.borrow_bps_by_symbol == {"TSLA": 500}
    with pytest.raises(ConfigError, match="financing.borrow_bps: 20000.0"):
        Financing(borrow_bps=20_000.0)
    with pytest.raises(ConfigError, match="financing.borrow_bps_by_symbol.X: -1.0"):
        Financing(borrow_bps_by_symbol={"X": -1.0})
    with pytest.raises(ConfigError, match="financing.margin_rate: 2.0"):
        Financing(margin_rate=2.0)
    assert hash(BacktestConfig(financing=fin)) == hash(
        BacktestConfig(financing=Financing(borrow_bps_by_symbol={"TSLA": 500}))
    )


def test_grid_cells_equal_their_single_backtests_with_financing():
    data = load_market_data(["SPY", "QQQ"], "2019-01-01", "2020-12-31")
    config = BacktestConfig(
        cash_rate=0.01, financing=Financing(borrow_bps=400.0, borrow_bps_by_symbol={"QQQ": 900.0}, margin_rate=0.07)
    )
    sets = [{"fast": 10, "slow": 50, "allow_short": True}, {"fast": 20, "slow": 100, "allow_short": True}]
    grid = run_grid(data, get_strategy("sma_cross"), sets, config, workers=1)
    for k, p in enumerate(sets):
        single = run_backtest(data, create_strategy("sma_cross", p), config)
        assert single.metrics["borrow_cost"] > 0
        assert np.array_equal(grid.equity[k].to_numpy(), single.equity.to_numpy())
        free = run_backtest(data, create_strategy("sma_cross", p), BacktestConfig(cash_rate=0.01))
        assert not np.array_equal(grid.equity[k].to_numpy(), free.equity.to_numpy())


def test_a_preset_keeps_the_financing_section():
    from engine.request import BacktestRequest
    from engine.store.presets import Preset

    fin = Financing(borrow_bps=250.0, borrow_bps_by_symbol={"SPY": 100.0}, margin_rate=0.06)
    request = BacktestRequest(strategy="sma_cross", symbols=("SPY",), config=BacktestConfig(financing=fin))
    saved = Preset.from_request("short_book", request).to_dict()
    assert saved["config"]["financing"] == {
        "borrow_bps": 250.0,
        "borrow_bps_by_symbol": {"SPY": 100.0},
        "margin_rate": 0.06,
    }
    assert Preset.from_dict(saved).to_request().config.financing == fin

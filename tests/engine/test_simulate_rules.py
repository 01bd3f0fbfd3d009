"""Hand-worked examples of each execution rule of DESIGN §3 (stops, fill conventions, costs, caps, cash rate)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs, Risk
from engine.data.market import MarketData
from engine.errors import ConfigError, StrategyError
from engine.sim.simulate import run_backtest
from engine.strategies.base import Strategy, param


class Fixed(Strategy):
    name = "fixed_test"

    @dataclass(frozen=True)
    class Params:
        dummy: int = param(0)

    def __init__(self, weights, stops=None):
        super().__init__()
        self.w, self.stops = weights, stops

    def target_weights(self, data):
        return self.w

    def stop_fractions(self, data):
        return self.stops


def bars(rows: list[tuple[float, float, float, float]], symbol: str = "X") -> MarketData:
    """rows of (open, high, low, close) on consecutive business days."""
    idx = pd.bdate_range("2024-01-01", periods=len(rows))
    df = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx)
    df["volume"] = 1000.0
    return MarketData.from_frames({symbol: df})


def weights(data: MarketData, values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({data.symbols[0]: values}, index=data.index)


FLAT = (100, 101, 99, 100)


def test_stop_loss_fills_at_the_stop_price_and_blocks_reentry_until_the_target_changes():
    data = bars([FLAT, (100, 101, 99, 100), (99, 100, 94, 96), (96, 97, 95, 96), (96, 97, 95, 96), FLAT])
    w = weights(data, [1, 1, 1, 1, 0.5, 0.5])
    res = run_backtest(data, Fixed(w), BacktestConfig(risk=Risk(stop_loss=0.05)))
    entry, stop, again = res.fills.itertuples(index=False)
    assert entry.time == data.index[1] and entry.price == 100
    assert stop.time == data.index[2] and stop.price == pytest.approx(95.0) and stop.reason == "stop_loss"
    assert stop.quantity == pytest.approx(-1000.0)
    # no re-entry on bars 3-4 while the target stays 1.0; the change to 0.5 at bar 4 re-enters at bar 5's open
    assert again.time == data.index[5] and again.reason == "signal"
    assert res.trades.iloc[0]["exit_reason"] == "stop_loss"
    assert res.trades.iloc[0]["pnl"] == pytest.approx(-5000.0)


def test_stop_gap_fills_at_the_open():
    data = bars([FLAT, FLAT, (90, 91, 88, 89), FLAT])
    res = run_backtest(data, Fixed(weights(data, [1, 1, 1, 1])), BacktestConfig(risk=Risk(stop_loss=0.05)))
    stop = res.fills.iloc[1]
    assert stop.price == 90 and stop.reason == "stop_loss"


def test_take_profit_and_trailing_stop():
    data = bars([FLAT, FLAT, (101, 111, 100, 109), FLAT])
    res = run_backtest(data, Fixed(weights(data, [1, 1, 1, 1])), BacktestConfig(risk=Risk(take_profit=0.10)))
    assert res.fills.iloc[1].price == pytest.approx(110.0) and res.fills.iloc[1].reason == "take_profit"

    # trailing 10%: highs 105 then 120 lift the stop to 108; bar 4's low 107 exits at 108
    data = bars([FLAT, FLAT, (101, 105, 100, 104), (104, 120, 103, 118), (118, 119, 107, 110), FLAT])
    res = run_backtest(data, Fixed(weights(data, [1] * 6)), BacktestConfig(risk=Risk(trailing_stop=0.10)))
    exit_fill = res.fills.iloc[1]
    assert exit_fill.time == data.index[4]
    assert exit_fill.price == pytest.approx(108.0) and exit_fill.reason == "trailing_stop"


def test_short_stop_loss_triggers_on_the_high():
    data = bars([FLAT, FLAT, (101, 106, 100, 104), FLAT])
    res = run_backtest(data, Fixed(weights(data, [-1] * 4)), BacktestConfig(risk=Risk(stop_loss=0.05)))
    entry, stop = res.fills.iloc[0], res.fills.iloc[1]
    assert entry.quantity == pytest.approx(-1000.0)
    assert stop.quantity == pytest.approx(1000.0) and stop.price == pytest.approx(105.0)
    assert res.trades.iloc[0]["side"] == "short" and res.trades.iloc[0]["pnl"] == pytest.approx(-5000.0)


def test_strategy_stop_fractions_are_taken_from_the_signal_bar():
    data = bars([FLAT, FLAT, (100, 101, 97, 98), FLAT])
    stops = {"stop_loss": pd.DataFrame({"X": [0.02, 0.5, 0.5, 0.5]}, index=data.index)}
    res = run_backtest(data, Fixed(weights(data, [1] * 4), stops))
    assert res.fills.iloc[1].price == pytest.approx(98.0)  # 2% below the 100 entry, decided at bar 0


@pytest.mark.parametrize(
    "fill, bar, price_field", [("next_open", 2, "open"), ("next_close", 2, "close"), ("same_close", 1, "close")]
)
def test_fill_conventions(fill, bar, price_field):
    data = bars([(100, 102, 98, 101), (101, 104, 100, 103), (104, 106, 103, 105), (105, 106, 104, 105)])
    res = run_backtest(data, Fixed(weights(data, [0, 1, 1, 1])), BacktestConfig(fill=fill))
    f = res.fills.iloc[0]
    assert f.time == data.index[bar]
    assert f.price == getattr(data, price_field)["X"].iloc[bar]
    assert res.equity.iloc[-1] == pytest.approx(100_000 / f.price * 105)


def test_costs_slippage_and_minimum_commission_by_hand():
    data = bars([FLAT, FLAT, (110, 111, 109, 110), FLAT])
    cfg = BacktestConfig(costs=Costs(commission_bps=10, min_commission=60, slippage_bps=10))
    res = run_backtest(data, Fixed(weights(data, [0.5, 0, 0, 0])), cfg)  # buy at bar 1 open, sell at bar 2 open
    buy, sell = res.fills.iloc[0], res.fills.iloc[1]
    q = 0.5 * 100_000 / (100 * 1.001 * 1.001)
    assert buy.price == pytest.approx(100.1) and buy.quantity == pytest.approx(q)
    assert q * 100.1 * 0.001 < 60 and buy.commission == 60  # the minimum applies
    assert sell.price == pytest.approx(110 * 0.999)
    cash = 100_000 - q * 100.1 - max(q * 100.1 * 0.001, 60) + q * 109.89 - max(q * 109.89 * 0.001, 60)
    assert res.equity.iloc[-1] == pytest.approx(cash)


def test_whole_units_round_toward_zero():
    data = bars([FLAT, (333, 334, 332, 333), FLAT])
    res = run_backtest(data, Fixed(weights(data, [1, 1, 1])), BacktestConfig(fractional=False))
    assert res.fills.iloc[0].quantity == 300  # floor(100000 / 333) = 300
    assert res.cash.iloc[-1] == pytest.approx(100_000 - 300 * 333)


def test_position_cap_then_leverage_scaling():
    idx = pd.bdate_range("2024-01-01", periods=3)
    frame = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 1.0}, index=idx)
    data = MarketData.from_frames({"A": frame, "B": frame, "C": frame})
    w = pd.DataFrame({"A": [0.9] * 3, "B": [0.6] * 3, "C": [0.2] * 3}, index=idx)
    res = run_backtest(data, Fixed(w), BacktestConfig(risk=Risk(max_position=0.5, max_leverage=1.0)))
    # caps: 0.5, 0.5, 0.2 -> gross 1.2 > 1 -> scaled by 1/1.2
    np.testing.assert_allclose(res.weights.iloc[0].to_numpy(), np.array([0.5, 0.5, 0.2]) / 1.2)
    np.testing.assert_allclose(res.positions.iloc[1].to_numpy() * 100, np.array([0.5, 0.5, 0.2]) / 1.2 * 100_000)


def test_cash_earns_its_rate_per_bar():
    data = bars([FLAT] * 253)
    res = run_backtest(data, Fixed(weights(data, [0] * 253)), BacktestConfig(cash_rate=0.05))
    assert res.equity.iloc[-1] == pytest.approx(100_000 * 1.05, rel=1e-12)


def test_bad_weights_and_config_are_reported():
    data = bars([FLAT] * 5)
    with pytest.raises(StrategyError, match="infinite"):
        run_backtest(data, Fixed(weights(data, [0, np.inf, 0, 0, 0])))
    with pytest.raises(ConfigError, match="fill"):
        BacktestConfig(fill="tomorrow")
    with pytest.raises(ConfigError, match="max_leverage"):
        Risk(max_leverage=-1)
    with pytest.raises(ConfigError, match="stop_loss"):
        Risk(stop_loss=1.5)
    with pytest.raises(ConfigError, match="weekly"):
        idx = pd.RangeIndex(5)
        frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=idx)
        d = MarketData.from_frames({"X": frame})
        run_backtest(d, Fixed(pd.DataFrame({"X": [0.0] * 5}, index=idx)), BacktestConfig(rebalance="weekly"))


def test_a_single_bar_is_rejected_with_the_count() -> None:
    data = bars([(10.0, 11.0, 9.0, 10.5)])
    weights = pd.DataFrame({"X": [1.0]}, index=data.index)
    with pytest.raises(ConfigError, match="at least 2 bars; the data has 1"):
        run_backtest(data, Fixed(weights))


def test_bad_weight_values_are_named() -> None:
    """The simulator's array fast path checks shape and infinities like the DataFrame path."""
    from engine.errors import StrategyError
    from engine.sim.simulate import run_backtest
    from engine.strategies.crossover import SmaCross
    from tests.engine.test_strategies_common import market

    data = market("SPY")

    class WrongShape(SmaCross):
        name = "wrong_shape_test"

        def weight_values(self, data):
            return np.zeros((len(data) - 1, 1))

    class Infinite(SmaCross):
        name = "infinite_test"

        def weight_values(self, data):
            return np.full(data.close.shape, np.inf)

    with pytest.raises(StrategyError, match=r"wrong_shape_test weights: weight_values returned shape \(8396, 1\)"):
        run_backtest(data, WrongShape())
    with pytest.raises(StrategyError, match="infinite_test weights contains infinite values"):
        run_backtest(data, Infinite())

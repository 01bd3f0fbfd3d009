"""The compiled simulator equals the slow reference loop on random weights, gappy prices, costs, caps, shorts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.config import BacktestConfig, Costs, Risk
from engine.data.market import MarketData
from engine.sim.simulate import rebalance_mask, run_backtest
from engine.strategies.base import Strategy, param
from tests.engine.reference_sim import reference_backtest


class FixedWeights(Strategy):
    """Returns a weight table given at construction: lets the tests drive the simulator directly."""

    name = "fixed_weights_test"

    @dataclass(frozen=True)
    class Params:
        dummy: int = param(0)

    def __init__(self, weights: pd.DataFrame) -> None:
        super().__init__()
        self.weights = weights

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return self.weights


def make_market(seed: int, n_bars: int, n_sym: int, gap_rate: float) -> MarketData:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=n_bars)
    frames = {}
    for j in range(n_sym):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n_bars)))
        open_ = close * np.exp(rng.normal(0, 0.01, n_bars))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n_bars))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n_bars))
        df = pd.DataFrame(
            {"open": open_, "high": high, "low": low, "close": close, "volume": rng.uniform(1e3, 1e4, n_bars)},
            index=index,
        )
        late = int(rng.integers(0, n_bars // 3)) if j > 0 else 0  # later listing
        keep = rng.uniform(size=n_bars) >= gap_rate
        keep[:late] = False
        frames[f"S{j}"] = df[keep]
    return MarketData.from_frames(frames)


def random_weights(seed: int, data: MarketData, shorts: bool, nan_rate: float, hold: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    n, m = data.close.shape
    raw = rng.uniform(-1 if shorts else 0, 1, (n, m)) * rng.choice([0, 1], size=(n, m), p=[0.3, 0.7])
    raw = np.repeat(raw[::hold], hold, axis=0)[:n]  # hold targets for a few bars, like real strategies
    raw[rng.uniform(size=(n, m)) < nan_rate] = np.nan
    return pd.DataFrame(raw, index=data.index, columns=data.symbols)


def rows(frame: pd.DataFrame) -> list[list[float]]:
    return frame.to_numpy().tolist()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_bars=st.integers(6, 80),
    n_sym=st.integers(1, 4),
    gap_rate=st.sampled_from([0.0, 0.1, 0.3]),
    shorts=st.booleans(),
    nan_rate=st.sampled_from([0.0, 0.05]),
    hold=st.integers(1, 6),
    commission_bps=st.sampled_from([0.0, 5.0, 25.0]),
    min_commission=st.sampled_from([0.0, 1.0, 30.0]),
    slippage_bps=st.sampled_from([0.0, 10.0]),
    fill=st.sampled_from(["next_open", "next_close", "same_close"]),
    fractional=st.booleans(),
    rebalance=st.sampled_from(["on_change", "daily", "weekly", "monthly"]),
    drift=st.sampled_from([0.0, 0.02]),
    max_leverage=st.sampled_from([0.5, 1.0, 2.0]),
    max_position=st.sampled_from([None, 0.3, 1.0]),
)
def test_simulator_equals_reference_loop(
    seed,
    n_bars,
    n_sym,
    gap_rate,
    shorts,
    nan_rate,
    hold,
    commission_bps,
    min_commission,
    slippage_bps,
    fill,
    fractional,
    rebalance,
    drift,
    max_leverage,
    max_position,
):
    data = make_market(seed, n_bars, n_sym, gap_rate)
    assume(len(data) >= 2)  # gaps can leave a single bar: run_backtest rejects that (tested in test_simulate_rules)
    weights = random_weights(seed, data, shorts, nan_rate, hold)
    config = BacktestConfig(
        initial_cash=100_000.0,
        costs=Costs(commission_bps=commission_bps, min_commission=min_commission, slippage_bps=slippage_bps),
        risk=Risk(max_leverage=max_leverage, max_position=max_position),
        fill=fill,
        fractional=fractional,
        rebalance=rebalance,
        drift_threshold=drift,
    )
    result = run_backtest(data, FixedWeights(weights), config)
    mask = rebalance_mask(data.index, rebalance)
    ref_equity, ref_fills = reference_backtest(
        rows(data.open),
        rows(data.close),
        rows(weights),
        cash=100_000.0,
        commission=commission_bps / 1e4,
        min_commission=min_commission,
        slippage=slippage_bps / 1e4,
        fill=fill,
        fractional=fractional,
        rebalance_at={t for t in range(len(mask)) if mask[t]},
        drift=drift,
        max_leverage=max_leverage,
        max_position=math.inf if max_position is None else max_position,
    )
    np.testing.assert_allclose(result.equity.to_numpy(), ref_equity, rtol=1e-9, atol=1e-6)
    assert len(result.fills) == len(ref_fills)
    if ref_fills:
        ref = np.array(ref_fills)
        np.testing.assert_array_equal(result.fills["time"].to_numpy(), data.index[ref[:, 0].astype(int)].to_numpy())
        np.testing.assert_allclose(result.fills["quantity"].to_numpy(), ref[:, 2], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(result.fills["price"].to_numpy(), ref[:, 3], rtol=1e-12)
        np.testing.assert_allclose(result.fills["commission"].to_numpy(), ref[:, 4], rtol=1e-9, atol=1e-9)
    # equity = cash + marked positions, and the trade list's P&L adds up to the equity change
    assert result.trades["pnl"].sum() == pytest.approx(result.equity.iloc[-1] - 100_000.0, rel=1e-9, abs=1e-5)


def test_decision_on_last_bar_is_not_traded():
    data = make_market(3, 10, 1, 0.0)
    w = pd.DataFrame(0.0, index=data.index, columns=data.symbols)
    w.iloc[-1] = 1.0
    result = run_backtest(data, FixedWeights(w))
    assert result.fills.empty and result.equity.iloc[-1] == 100_000.0


def test_fill_is_at_next_open_and_order_waits_for_a_bar():
    data = make_market(5, 12, 2, 0.0)
    close = data.close.copy()
    # symbol S1 has no bar on bars 4 and 5: a signal at bar 3 fills at the open of bar 6
    frames = {
        s: pd.DataFrame({f: getattr(data, f)[s] for f in ("open", "high", "low", "close", "volume")})
        for s in data.symbols
    }
    frames["S1"] = frames["S1"].drop(close.index[[4, 5]])
    data = MarketData.from_frames(frames)
    w = pd.DataFrame(0.0, index=data.index, columns=data.symbols)
    w.iloc[3:, 1] = 0.5
    result = run_backtest(data, FixedWeights(w))
    fill = result.fills.iloc[0]
    assert fill["time"] == data.index[6]
    assert fill["price"] == data.open["S1"].iloc[6]
    assert fill["quantity"] == pytest.approx(0.5 * 100_000 / data.open["S1"].iloc[6])

"""Paper triggers (brokers/paper/triggers.py) exit on the same bar at the same price as the backtest engine.

Real sample bars; the engine holds SPY from bar 1 (buy and hold) with Risk stops; the paper side watches an
exit from the engine's entry price with the same fractions, walking the bars from the entry bar (whose open
the engine does not check: the position was entered at it). Slippage is applied by hand to the raw trigger.
"""

from __future__ import annotations

import math

import pytest

from brokers.paper.triggers import Hit, Watch, walk
from engine.config import BacktestConfig, Costs, Risk
from engine.data import SAMPLE_DIR, load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.allocation import BuyAndHold

SLIP_BPS = 5.0


@pytest.mark.parametrize(
    "risk",
    [
        {"stop_loss": 0.02},
        {"take_profit": 0.10},
        {"trailing_stop": 0.08},
        {"stop_loss": 0.04, "take_profit": 0.06},
        {"stop_loss": 0.10, "trailing_stop": 0.05, "take_profit": 0.30},
    ],
)
@pytest.mark.parametrize("symbol", ["SPY", "AAPL"])
def test_paper_exit_matches_the_engine(symbol, risk):
    data = load_market_data([symbol], source=SAMPLE_DIR)
    config = BacktestConfig(costs=Costs(slippage_bps=SLIP_BPS), risk=Risk(**risk))
    trade = run_backtest(data, BuyAndHold(), config).trades.iloc[0]
    assert trade["exit_reason"] != "open"  # the fractions above do exit within the sample
    entry = trade["entry_price"]
    frame = data.open[[symbol]].rename(columns={symbol: "open"}).assign(high=data.high[symbol], low=data.low[symbol])
    frame = frame.loc[trade["entry_time"] :]
    sl, tp, ts = risk.get("stop_loss"), risk.get("take_profit"), risk.get("trailing_stop")
    watch = Watch(
        side="sell",
        stop=entry * (1 - sl) if sl else None,
        limit=entry * (1 + tp) if tp else None,
        trail_percent=ts * 100 if ts else None,
        extreme=entry if ts else None,
    )
    hit = walk(watch, frame, check_first_open=False)
    assert isinstance(hit, Hit)
    assert hit.time == trade["exit_time"]
    assert math.isclose(hit.price * (1 - SLIP_BPS / 1e4), trade["exit_price"], rel_tol=1e-12)
    reason = {"limit": "take_profit"}.get(
        hit.leg, "trailing_stop" if trade["exit_reason"] == "trailing_stop" else "stop_loss"
    )
    assert reason == trade["exit_reason"]

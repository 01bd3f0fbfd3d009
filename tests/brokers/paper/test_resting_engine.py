"""PaperBroker's resting exits fill on the same bar at the same price as the backtest engine's Risk exits.

Real sample bars. The engine buys and holds from the open of its entry bar with Risk stops; the paper broker buys
at that open (price source = the raw open, the same 5 bps slippage: the same entry price), its orders placed with
the bars up to the bar before (the entry bar's open cannot trigger an exit below / above the entry price), then
sees the whole sample. The exit bar is the `last_bar` the broker saved on the filled order.
"""

from __future__ import annotations

import math
import sqlite3

import pandas as pd
import pytest

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars, StaticPrices
from engine.config import BacktestConfig, Costs, Risk
from engine.data import SAMPLE_DIR, load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.allocation import BuyAndHold

SLIP_BPS = 5.0


@pytest.mark.parametrize(
    ("kind", "risk"),
    [
        ("stop", {"stop_loss": 0.02}),
        ("bracket", {"stop_loss": 0.04, "take_profit": 0.06}),
        ("oco", {"stop_loss": 0.04, "take_profit": 0.06}),
        ("oco", {"stop_loss": 0.10, "take_profit": 0.10}),
    ],
)
@pytest.mark.parametrize("symbol", ["SPY", "AAPL"])
def test_paper_broker_exit_matches_the_engine(tmp_path, symbol, kind, risk):
    data = load_market_data([symbol], source=SAMPLE_DIR)
    costs = Costs(slippage_bps=SLIP_BPS)
    trade = run_backtest(data, BuyAndHold(), BacktestConfig(costs=costs, risk=Risk(**risk))).trades.iloc[0]
    assert trade["exit_reason"] != "open"
    t0, entry = trade["entry_time"], trade["entry_price"]
    bars = pd.DataFrame({k: getattr(data, k)[symbol] for k in ("open", "high", "low", "close")})
    source = StaticBars({symbol: bars[bars.index < t0]})
    prices = StaticPrices({symbol: float(bars.loc[t0, "open"])})
    b = PaperBroker(tmp_path / "p.db", costs=costs, price_source=prices, bar_source=source, initial_cash=1e9)
    sl, tp = entry * (1 - risk["stop_loss"]), entry * (1 + risk.get("take_profit", 0))
    if kind == "bracket":
        b.submit(
            OrderRequest(symbol, 1, "buy", order_class="bracket", take_profit=tp, stop_loss=sl, client_order_id="e")
        )
    else:
        b.submit(OrderRequest(symbol, 1, "buy", client_order_id="e"))
        if kind == "stop":
            b.submit(OrderRequest(symbol, 1, "sell", type="stop", stop_price=sl, client_order_id="x"))
        else:
            b.submit(
                OrderRequest(symbol, 1, "sell", order_class="oco", take_profit=tp, stop_loss=sl, client_order_id="x")
            )
    assert math.isclose(b.order("e").avg_fill_price, entry, rel_tol=1e-12)
    source.bars[symbol] = bars
    exits = [o for o in b.orders("all") if o.client_order_id != "e" and o.status == "filled"]
    assert len(exits) == 1 and b.positions() == []
    assert math.isclose(exits[0].avg_fill_price, trade["exit_price"], rel_tol=1e-12)
    with sqlite3.connect(b.db_path) as db:
        (last_bar,) = db.execute("SELECT last_bar FROM paper_orders WHERE id = ?", (exits[0].id,)).fetchone()
    assert pd.Timestamp(last_bar) == trade["exit_time"]
    took_profit = exits[0].type == "limit"
    assert took_profit == (trade["exit_reason"] == "take_profit")

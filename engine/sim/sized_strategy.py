"""A strategy seen through the sizing overlay (engine.sim.sizing): what the look-ahead audit checks when a
backtest sizes its weights, since the overlay's estimates (volatility, Kelly, ATR) read the history too."""

from __future__ import annotations

import pandas as pd

from engine.config import BacktestConfig, Sizing
from engine.data.market import MarketData
from engine.sim.simulate import rebalance_mask, stop_arrays, strategy_weights
from engine.sim.sizing import sized_weights
from engine.strategies.base import Strategy


class SizedStrategy(Strategy):
    """`inner` with `config.sizing` applied: `target_weights` are the sized weights `run_backtest` trades
    (the same function on the same raw weights, stops and rebalance schedule)."""

    name = "sized"
    Params = Sizing

    def __init__(self, inner: Strategy, config: BacktestConfig) -> None:
        super().__init__(config.sizing)
        self.inner, self.config = inner, config
        self.name = f"{inner.name} sized by {config.sizing.method}"  # type: ignore[misc]

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        raw = strategy_weights(self.inner, data)
        (sl, _tp, ts), _ = stop_arrays(self.inner, data, self.config)
        rebalance = rebalance_mask(data.index, self.config.rebalance)
        sized = sized_weights(data, self.config, raw, (sl, ts), rebalance)
        return pd.DataFrame(sized, index=data.index, columns=data.close.columns)

"""DCA metrics of a run, per symbol, from its fills: average cost and money-weighted return.

The run's fills are the buys and sales; the position's value at each close is its units x the close (held
over rows without a bar). The metrics themselves are the registry's (`engine.metrics.registry.DCA_METRICS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.metrics.registry import DCA_METRICS, Inputs
from engine.sim.result import BacktestResult


def position_flows(result: BacktestResult, data: MarketData) -> dict[str, np.ndarray]:
    """(T, K) bought_value, bought_units, asset_flows and holding_value of every symbol of the run."""
    shape = data.close.shape
    bought_value, bought_units, flows = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    fills = result.fills
    if len(fills):
        rows = data.index.get_indexer(pd.DatetimeIndex(fills["time"]))
        cols = data.close.columns.get_indexer(fills["symbol"])
        qty = fills["quantity"].to_numpy(dtype="float64")
        money = qty * fills["price"].to_numpy(dtype="float64")
        fee = fills["commission"].to_numpy(dtype="float64")
        buy = qty > 0
        np.add.at(bought_value, (rows[buy], cols[buy]), money[buy] + fee[buy])
        np.add.at(bought_units, (rows[buy], cols[buy]), qty[buy])
        np.add.at(flows, (rows, cols), money + fee)  # a sale: negative money, less its commission
    close = data.close.ffill().to_numpy(dtype="float64")
    units = result.positions.reindex(columns=data.close.columns).to_numpy(dtype="float64")
    holding = np.where(units != 0, units * np.nan_to_num(close), 0.0)
    return {"bought_value": bought_value, "bought_units": bought_units, "asset_flows": flows, "holding_value": holding}


def dca_metrics(result: BacktestResult, data: MarketData, periods_per_year: float = 252.0) -> pd.DataFrame:
    """One row per symbol, one column per DCA metric (keys of DCA_METRICS), plus money invested in total."""
    flows = position_flows(result, data)
    k = data.close.shape[1]
    inputs = Inputs(
        equity=np.ones((len(data.index), k)),
        initial_cash=np.ones(k),
        periods_per_year=periods_per_year,
        years=0.0,
        bought_value=flows["bought_value"],
        bought_units=flows["bought_units"],
        asset_flows=flows["asset_flows"],
        holding_value=flows["holding_value"],
    )
    table = pd.DataFrame({m.key: m.compute(inputs) for m in DCA_METRICS}, index=data.close.columns)
    table["invested"] = flows["bought_value"].sum(axis=0)
    return table

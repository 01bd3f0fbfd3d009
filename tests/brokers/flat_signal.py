"""Today's signal for a buy-and-hold preset on 30 flat bars (fixed prices per symbol), shared by the execution
tests of the Alpaca and IBKR adapters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.market import MarketData
from engine.ops.signals import generate_signals
from engine.store.presets import Preset

PRICES = {"SPY": 500.0, "AAPL": 200.0, "QQQ": 400.0}


def signal(symbols=("SPY", "AAPL", "QQQ")):
    idx = pd.bdate_range(end="2024-03-08", periods=30)
    data = MarketData.from_frames(
        {
            s: pd.DataFrame(
                {
                    "open": PRICES[s],
                    "high": PRICES[s],
                    "low": PRICES[s],
                    "close": np.full(30, PRICES[s]),
                    "volume": 1e6,
                },
                index=idx,
            )
            for s in symbols
        }
    )
    return generate_signals(
        Preset(name="ops", strategy="buy_and_hold", symbols=symbols), data=data, now="2024-03-11 15:00"
    )

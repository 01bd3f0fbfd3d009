"""Shared pieces of the scheduled daily operations tests: a buy-and-hold preset of two symbols and its target
positions on the paper broker, worked out from the bundled sample's last closes (not from the signal)."""

from __future__ import annotations

import pandas as pd

from brokers import make_broker
from brokers.base import Broker
from engine.config import Costs
from engine.data import SAMPLE_DIR
from engine.store.presets import Preset, save_preset

SYMBOLS = ("SPY", "QQQ")
COMMISSION_BPS, SLIPPAGE_BPS = 5.0, 2.0


def save_hold_preset(name: str = "hold2") -> None:
    """Buy and hold of SYMBOLS (half the equity each) with 5 bps commission and 2 bps slippage."""
    costs = {"commission_bps": COMMISSION_BPS, "slippage_bps": SLIPPAGE_BPS}
    save_preset(Preset(name=name, strategy="buy_and_hold", symbols=SYMBOLS, costs=costs))


def last_close(symbol: str) -> float:
    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def expected_positions() -> dict[str, float]:
    """Half of 100,000 each, less the 0.1% cash buffer, at the last close with commission and slippage."""
    cost = (1 + COMMISSION_BPS / 1e4) * (1 + SLIPPAGE_BPS / 1e4)
    return {s: 100_000 * 0.5 * 0.999 / (last_close(s) * cost) for s in SYMBOLS}


def paper() -> Broker:
    """The workspace's paper account, filling with the preset's costs (as the scheduled run makes it)."""
    return make_broker("paper", costs=Costs(commission_bps=COMMISSION_BPS, slippage_bps=SLIPPAGE_BPS))

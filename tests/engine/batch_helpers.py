"""Shared pieces of the batch tests: a workspace with two user strategies (one slow, one that raises)."""

from __future__ import annotations

import textwrap
from pathlib import Path

USER_STRATEGIES = '''
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.strategies.base import Strategy, param


class SlowHold(Strategy):
    """Buy and hold after sleeping `seconds` (a job long enough to be killed mid-run)."""

    name = "slow_hold"
    description = "test: sleeps, then holds"

    @dataclass(frozen=True)
    class Params:
        seconds: float = param(0.5, 0.0, 30.0, 0.5, doc="seconds to sleep")

    def target_weights(self, data):
        time.sleep(self.params.seconds)
        return data.close.notna().astype("float64") / len(data.symbols)


class Explodes(Strategy):
    """Raises while computing its weights (a job that fails)."""

    name = "explodes"
    description = "test: raises"

    @dataclass(frozen=True)
    class Params:
        when: int = param(1, 0, 10, 1, doc="unused")

    def target_weights(self, data):
        raise RuntimeError("boom: this strategy always fails")


class QuietFrom(Strategy):
    """In the market every other block of `every` bars until the year `year`, in cash from then on (no trades
    late in the history: a walk-forward's last windows have no set with min_trades)."""

    name = "quiet_from"
    description = "test: trades until a year, then stays in cash"

    @dataclass(frozen=True)
    class Params:
        every: int = param(5, 1, 50, 1, doc="bars per block")
        year: int = param(2018, 1990, 2100, 1, doc="first year in cash")

    def target_weights(self, data):
        close = data.close
        blocks = (np.arange(len(close)) // self.params.every) % 2 == 0
        on = blocks & (close.index.year < self.params.year)
        return pd.DataFrame(np.outer(on, np.ones(close.shape[1])) / close.shape[1], index=close.index,
                            columns=close.columns)
'''


def make_workspace(home: Path) -> Path:
    """Create the workspace folder with the test strategies in its strategies/ folder."""
    folder = home / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "batch_test_strategies.py").write_text(textwrap.dedent(USER_STRATEGIES))
    return home


def grid_batch(n: int, name: str = "grid") -> str:
    """YAML of `n` distinct sma_cross backtests on SPY/QQQ/GLD (different fast/slow/symbols)."""
    lines = [
        f"name: {name}",
        "defaults:",
        "  start: 2012-01-01",
        "  end: 2021-12-31",
        "  config: {costs: {commission_bps: 2, slippage_bps: 1}}",
        "jobs:",
    ]
    symbols = ["SPY", "QQQ", "GLD"]
    for i in range(n):
        fast, slow = 5 + 5 * (i % 4), 40 + 20 * (i // 4)
        lines.append(
            f"  - {{name: job{i:02d}, strategy: sma_cross, symbols: [{symbols[i % 3]}], "
            f"params: {{fast: {fast}, slow: {slow}}}}}"
        )
    return "\n".join(lines) + "\n"

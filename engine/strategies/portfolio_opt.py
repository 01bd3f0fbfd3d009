"""`portfolio_opt`: a portfolio optimizer over the run's symbols, re-optimized on a schedule (engine.portfolio).

Every `every` bars (0 = the first bar of each month) the weights are re-optimized on the returns of the last
`lookback` bars up to that close (no later bar), with the method and constraints of the parameters, and held
until the next rebalance. A limit of 0 is off. What the constraints cut at each rebalance is in `rebalances`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.data.market import MarketData
from engine.portfolio.constraints import Constraints, sector_map
from engine.portfolio.optimizers import METHODS
from engine.portfolio.schedule import Rebalance, cuts_frame, rolling_allocations
from engine.strategies.base import PlotSeries, Strategy, param, require

BENCHMARKS = ("SPY", "QQQ", "IWM", "DIA")
"""The broad indexes a beta limit may be measured against (the benchmark must be one of the run's symbols)."""


class PortfolioOpt(Strategy):
    """Optimized weights over the universe (PyPortfolioOpt), re-optimized on a schedule with a lookback."""

    name = "portfolio_opt"
    description = "Portfolio optimizer (min variance, max Sharpe, risk parity, HRP...) re-optimized on a schedule."

    @dataclass(frozen=True)
    class Params:
        method: str = param("min_variance", choices=METHODS, doc="how the weights are chosen")
        lookback: int = param(252, 63, 504, 63, doc="bars of returns each optimization reads")
        every: int = param(0, 0, 126, 21, doc="re-optimize every N bars; 0 = the first bar of each month")
        shrinkage: bool = param(True, choices=(True, False), doc="Ledoit-Wolf shrinkage of the covariance")
        min_weight: float = param(0.0, 0.0, 0.1, 0.05, doc="smallest weight of a position (long-only)")
        max_weight: float = param(1.0, 0.1, 1.0, 0.1, doc="largest |weight| of a position")
        long_short: bool = param(False, choices=(False, True), doc="allow short weights down to -max_weight")
        gross_leverage: float = param(0.0, 0.0, 3.0, 0.5, doc="sum |w| at most this; 0 = no limit")
        sector_max: float = param(0.0, 0.0, 1.0, 0.1, doc="weight of one sector at most; 0 = no limit")
        beta_max: float = param(0.0, 0.0, 2.0, 0.1, doc="|portfolio beta| vs the benchmark at most; 0 = no limit")
        benchmark: str = param("SPY", choices=BENCHMARKS, doc="betas are measured against it (one of the symbols)")
        max_correlation: float = param(0.0, 0.0, 1.0, 0.05, doc="a new position's max correlation; 0 = off")

        def __post_init__(self) -> None:
            require(self.method in METHODS, f"method must be one of {list(METHODS)}, got {self.method!r}")
            require(self.lookback >= 20, f"lookback must be >= 20 bars, got {self.lookback}")
            require(0 < self.max_weight <= 1, f"max_weight must be in (0, 1], got {self.max_weight}")
            require(self.min_weight < self.max_weight, f"min_weight {self.min_weight} must be < {self.max_weight}")
            require(self.max_correlation <= 1, f"max_correlation must be <= 1, got {self.max_correlation}")

    def constraints(self, symbols: list[str]) -> Constraints:
        """The optimizer's constraints from the parameters (0 = off) and the shipped sector map."""
        p = self.params
        return Constraints(
            min_weight=p.min_weight,
            max_weight=p.max_weight,
            long_short=p.long_short,
            gross=p.gross_leverage or None,
            sector_max=p.sector_max or None,
            sectors=sector_map(symbols),
            beta_max=p.beta_max or None,
            max_correlation=p.max_correlation or None,
        )

    def rebalances(self, data: MarketData) -> tuple[pd.DataFrame, list[Rebalance]]:
        """(weights per bar and symbol, every rebalance with its allocation and cuts)."""
        p = self.params
        return rolling_allocations(
            data.close,
            p.method,
            p.lookback,
            p.every,
            self.constraints(data.symbols),
            shrinkage=p.shrinkage,
            benchmark=p.benchmark.upper() if p.beta_max else None,
        )

    def cuts(self, data: MarketData) -> pd.DataFrame:
        """Every weight a constraint cut: time, symbol, unconstrained weight, final weight, constraint."""
        return cuts_frame(self.rebalances(data)[1])

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return self.rebalances(data)[0]

    def plot_series(self, data: MarketData) -> dict[str, PlotSeries]:
        """The optimized weight of each symbol (held between rebalances) in a panel of its own; NaN where the
        symbol has no bar. The weights come from the whole universe's returns, so no price-axis line."""
        weights = self.target_weights(data)
        return {"weight": PlotSeries(weights.where(data.close.notna()), panel="weight")}

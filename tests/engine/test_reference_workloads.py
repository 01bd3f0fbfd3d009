"""`sma_cross` reproduces the shared reference results (bench/WORKLOADS.md W1-W4) and agrees with backtesting.py.

The reference numbers are copied from ../shared/bench/WORKLOADS.md, where four independent engines agree on
them to 1e-9. Other symbols are checked against backtesting.py run here (a test-only dependency).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.data import SAMPLE_DIR, available_symbols, load_market_data
from engine.sim.simulate import run_backtest
from engine.strategies.registry import create_strategy


def rule7(equity: np.ndarray, cash: float = 100_000.0) -> dict[str, float]:
    """WORKLOADS rule 7, computed here independently of engine.metrics."""
    prev = np.concatenate(([cash], equity[:-1]))
    r = equity / prev - 1
    return {
        "final": equity[-1],
        "total_return_pct": (equity[-1] / cash - 1) * 100,
        "max_dd_pct": (equity / np.maximum.accumulate(equity) - 1).min() * 100,
        "sharpe": r.mean() / r.std(ddof=1) * np.sqrt(252),
    }


def sma_backtest(symbols, fast=10, slow=50, fee=0.0, data=None):
    data = data if data is not None else load_market_data(symbols)
    config = BacktestConfig(initial_cash=100_000.0, costs=Costs(commission_bps=fee * 1e4))
    return run_backtest(data, create_strategy("sma_cross", {"fast": fast, "slow": slow}), config)


@pytest.mark.parametrize(
    "fee, final, total_pct, trades, dd_pct, sharpe",
    [
        (0.0, 839_252.60, 739.2526, 104, -28.5814, 0.6091),  # W1
        (0.001, 682_329.15, 582.3292, 104, -29.4939, 0.5555),  # W2
    ],
)
def test_w1_w2_reference(fee, final, total_pct, trades, dd_pct, sharpe):
    result = sma_backtest(["SPY"], fee=fee)
    ours = rule7(result.equity.to_numpy())
    assert ours["final"] == pytest.approx(final, abs=0.01)
    assert ours["total_return_pct"] == pytest.approx(total_pct, abs=0.01)
    assert len(result.trades) == trades
    assert ours["max_dd_pct"] == pytest.approx(dd_pct, abs=1e-4)
    assert ours["sharpe"] == pytest.approx(sharpe, abs=1e-4)
    # the engine's own metrics agree with the independent rule-7 computation
    m = result.metrics
    assert m["final_equity"] == pytest.approx(ours["final"], rel=1e-12)
    assert m["total_return"] * 100 == pytest.approx(ours["total_return_pct"], rel=1e-12)
    assert m["max_drawdown"] * 100 == pytest.approx(ours["max_dd_pct"], rel=1e-12)
    assert m["sharpe"] == pytest.approx(ours["sharpe"], rel=1e-12)
    assert m["n_trades"] == trades


def test_w3_grid_reference():
    data = load_market_data(["SPY"])
    by_return, by_sharpe = {}, {}
    for f in range(5, 55, 5):
        for s in range(20, 220, 20):
            if f >= s:
                continue
            res = sma_backtest(["SPY"], f, s, data=data)
            stats = rule7(res.equity.to_numpy())
            by_return[(f, s)] = stats["total_return_pct"]
            by_sharpe[(f, s)] = stats["sharpe"]
    assert len(by_return) == 90
    best_r = max(by_return, key=by_return.get)
    best_s = max(by_sharpe, key=by_sharpe.get)
    assert best_r == (45, 200) and by_return[best_r] == pytest.approx(2258.85, abs=0.01)
    assert best_s == (10, 200) and by_sharpe[best_s] == pytest.approx(0.8142, abs=1e-4)


def test_w4_shared_cash_portfolio_reference():
    symbols = sorted(available_symbols(SAMPLE_DIR))  # the daily files (sample/intraday is not W4 data)
    assert len(symbols) == 36
    data = load_market_data(symbols)
    assert len(data) == 9732  # union calendar rows
    result = sma_backtest(symbols, data=data)
    ours = rule7(result.equity.to_numpy())
    assert ours["final"] == pytest.approx(1_492_683.85, abs=0.01)
    assert ours["total_return_pct"] == pytest.approx(1392.6839, abs=0.01)
    assert len(result.trades) == 3229
    assert ours["max_dd_pct"] == pytest.approx(-16.6415, abs=1e-4)
    assert ours["sharpe"] == pytest.approx(0.9199, abs=1e-4)


def _backtesting_py(symbol: str, fast: int, slow: int, fee: float) -> tuple[np.ndarray, int]:
    """The same rules run by backtesting.py (FractionalBacktest, next-open fills), as WORKLOADS.md describes."""
    from backtesting import Strategy as BtStrategy
    from backtesting.lib import FractionalBacktest, crossover

    df = pd.read_csv(SAMPLE_DIR / f"{symbol}.csv", index_col="date", parse_dates=True)
    df = df.rename(columns=str.capitalize)

    class SmaCrossBt(BtStrategy):
        n1, n2 = fast, slow

        def init(self):
            self.f = self.I(lambda x: pd.Series(x).rolling(self.n1).mean().to_numpy(), self.data.Close)
            self.s = self.I(lambda x: pd.Series(x).rolling(self.n2).mean().to_numpy(), self.data.Close)

        def next(self):
            if crossover(self.f, self.s) and not self.position:
                self.buy()
            elif crossover(self.s, self.f) and self.position:
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(
            df, SmaCrossBt, cash=100_000, commission=fee, fractional_unit=1e-6, finalize_trades=False
        )
        stats = bt.run()
    trades = len(stats._strategy.trades) + len(stats._strategy.closed_trades)
    return stats._equity_curve["Equity"].to_numpy(), trades


@pytest.mark.parametrize("symbol, fee", [("AAPL", 0.0), ("GLD", 0.001), ("XLE", 0.0), ("JPM", 0.001)])
def test_agrees_with_backtesting_py(symbol, fee):
    theirs_equity, theirs_trades = _backtesting_py(symbol, 10, 50, fee)
    result = sma_backtest([symbol], fee=fee)
    ours, theirs = rule7(result.equity.to_numpy()), rule7(theirs_equity)
    assert len(result.trades) == theirs_trades
    assert ours["total_return_pct"] == pytest.approx(theirs["total_return_pct"], abs=0.01)
    assert ours["max_dd_pct"] == pytest.approx(theirs["max_dd_pct"], abs=0.01)
    assert ours["sharpe"] == pytest.approx(theirs["sharpe"], abs=1e-3)

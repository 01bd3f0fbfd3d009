"""Trade statistics and market exposure, per column of a multi-column backtest.

Trade metrics take a flat list of trades tagged with the column (0..K-1) they belong to and aggregate with
`np.bincount`, so K = 1 and K = 10,000 cost the same Python overhead. A column without trades gets
n_trades = 0 and NaN for the ratios. Exposure and turnover take (T, K) arrays sampled at each close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TradeSums:
    """Per-column sums over trades, the inputs of every trade metric (all (K,) float64)."""

    count: np.ndarray
    wins: np.ndarray
    gross_profit: np.ndarray
    gross_loss: np.ndarray
    pnl: np.ndarray
    returns: np.ndarray


def trade_sums(column: np.ndarray, pnl: np.ndarray, returns: np.ndarray, n_columns: int) -> TradeSums:
    """Aggregate trades per column.

    Args:
        column: (N,) int, the column 0..K-1 of each trade.
        pnl: (N,) profit and loss of each trade, in account currency (net of costs).
        returns: (N,) return of each trade as a fraction of its entry value.
        n_columns: K.
    """
    if n_columns == 1:  # one backtest: six bincounts cost more than the sums; the same sequential order
        won, lost = pnl > 0, pnl < 0
        return TradeSums(
            count=_one(len(pnl)),
            wins=_one(np.count_nonzero(won)),
            gross_profit=_sum(pnl[won]),
            gross_loss=_sum(-pnl[lost]),
            pnl=_sum(pnl),
            returns=_sum(returns),
        )

    def per_column(weights: np.ndarray) -> np.ndarray:
        return np.bincount(column, weights=weights, minlength=n_columns).astype(np.float64)

    return TradeSums(
        count=per_column(np.ones(len(column))),
        wins=per_column((pnl > 0).astype(np.float64)),
        gross_profit=per_column(np.where(pnl > 0, pnl, 0.0)),
        gross_loss=per_column(np.where(pnl < 0, -pnl, 0.0)),
        pnl=per_column(pnl),
        returns=per_column(returns),
    )


def _one(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float64)


def _sum(values: np.ndarray) -> np.ndarray:
    """The sum in index order, like np.bincount's accumulation (np.sum adds pairwise: other last bits)."""
    return _one(np.cumsum(values)[-1] if len(values) else 0.0)


def n_trades(s: TradeSums) -> np.ndarray:
    """Number of trades per column (round trips, an open one at the end included). Not annualized."""
    return s.count


def win_rate(s: TradeSums) -> np.ndarray:
    """Share of trades with pnl > 0 (a fraction 0..1; a zero-pnl trade is not a win). Not annualized.

    NaN with no trades.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s.count > 0, s.wins / s.count, np.nan)


def profit_factor(s: TradeSums) -> np.ndarray:
    """Gross profit / gross loss (currency / currency) over the whole backtest. Not annualized.

    inf with some profit and no losing trade; NaN with no trades, or when no trade won or lost anything.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s.gross_profit / s.gross_loss
    no_loss = np.where(s.gross_profit > 0, np.inf, np.nan)
    out = np.where(s.gross_loss > 0, ratio, no_loss)
    return np.where(s.count > 0, out, np.nan)


def expectancy(s: TradeSums) -> np.ndarray:
    """Mean pnl per trade, in account currency. Not annualized (per trade, whatever its length).

    NaN with no trades.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s.count > 0, s.pnl / s.count, np.nan)


def avg_trade(s: TradeSums) -> np.ndarray:
    """Mean trade return, a fraction of entry value (0.01 = +1% per trade). Not annualized.

    Per trade, whatever its length. NaN with no trades.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s.count > 0, s.returns / s.count, np.nan)


def exposure(gross_exposure: np.ndarray) -> np.ndarray:
    """Share of bars (0..1) that end with any position: gross exposure > 0 at the close. Not annualized.

    A share of time, the same whatever the bar length. NaN with no bars.
    """
    if len(gross_exposure) == 0:
        return np.full(gross_exposure.shape[1], np.nan)
    return (gross_exposure > 0).mean(axis=0)


def avg_gross_exposure(gross_exposure: np.ndarray) -> np.ndarray:
    """Mean over bars of sum |position value| / equity at each close (1.0 = fully invested, 2.0 = 2x).

    Not annualized (an average level, not a rate). NaN with no bars.
    """
    if len(gross_exposure) == 0:
        return np.full(gross_exposure.shape[1], np.nan)
    return gross_exposure.mean(axis=0)


def annual_turnover(turnover: np.ndarray, periods_per_year: float) -> np.ndarray:
    """Annual turnover in multiples of equity: mean per-bar traded notional / equity x P.

    A buy-and-hold bought once over 10 years of daily bars gives about 0.1; a daily full flip about 2 x 252.
    """
    if len(turnover) == 0:
        return np.full(turnover.shape[1], np.nan)
    return turnover.mean(axis=0) * periods_per_year

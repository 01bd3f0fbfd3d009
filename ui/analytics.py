"""Display series derived from a backtest result: drawdowns, calendar returns, rolling statistics, contribution.

Pure pandas, no Streamlit: the chart builders and the HTML report share them. Conventions: returns are
simple per-bar returns; annualization multiplies by `periods_per_year` (252 for daily bars) for means and by
its square root for volatilities; rolling windows count bars and use data up to and including each bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def drawdown(equity: pd.Series) -> pd.Series:
    """Underwater curve: equity / running peak - 1 (0 at a new high, -0.25 = 25% below the peak)."""
    equity = equity.astype("float64")
    return equity / equity.cummax() - 1.0


def to_returns(equity: pd.Series) -> pd.Series:
    """Per-bar simple returns of an equity curve (the first bar's return is 0)."""
    return equity.astype("float64").pct_change().fillna(0.0)


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return per calendar month: rows = years, columns = months 1..12 (NaN where no bars)."""
    if returns.empty:
        return pd.DataFrame(columns=range(1, 13), dtype="float64")
    r = returns.astype("float64")
    grouped = (1.0 + r).groupby([r.index.year, r.index.month]).prod() - 1.0
    grouped.index = grouped.index.set_names(["year", "month"])
    table = grouped.unstack("month").reindex(columns=range(1, 13))
    return table


def yearly_returns(returns: pd.Series) -> pd.Series:
    """Compounded return per calendar year (index = year)."""
    r = returns.astype("float64")
    out = (1.0 + r).groupby(r.index.year).prod() - 1.0
    out.index.name = "year"
    return out


def rolling_sharpe(returns: pd.Series, window: int = 126, periods_per_year: float = 252.0) -> pd.Series:
    """Rolling annualized Sharpe ratio (risk-free 0): mean / std * sqrt(periods_per_year) over `window` bars."""
    r = returns.astype("float64")
    mean = r.rolling(window).mean()
    std = r.rolling(window).std(ddof=1)
    return (mean / std.replace(0.0, np.nan)) * np.sqrt(periods_per_year)


def rolling_volatility(returns: pd.Series, window: int = 126, periods_per_year: float = 252.0) -> pd.Series:
    """Rolling annualized volatility: std of `window` bars * sqrt(periods_per_year)."""
    return returns.astype("float64").rolling(window).std(ddof=1) * np.sqrt(periods_per_year)


def exposure(weights: pd.DataFrame) -> pd.DataFrame:
    """Gross (sum |w|), net (sum w), long and short exposure per bar, as fractions of equity."""
    w = weights.astype("float64").fillna(0.0)
    return pd.DataFrame(
        {
            "gross": w.abs().sum(axis=1),
            "net": w.sum(axis=1),
            "long": w.clip(lower=0).sum(axis=1),
            "short": w.clip(upper=0).sum(axis=1),
        },
        index=w.index,
    )


def symbol_contribution(fills: pd.DataFrame, positions: pd.DataFrame, last_close: pd.Series) -> pd.Series:
    """Profit and loss per symbol, account currency: cash flows of every fill plus the final position at the last close.

    For each symbol: sum(-quantity * price - commission) over its fills + final units * last close. This is
    exact accounting (fees and slippage included, as the fill prices already carry slippage); the sum over
    symbols equals final equity - initial cash when cash earns nothing.
    """
    symbols = [str(s) for s in positions.columns]
    out = pd.Series(0.0, index=symbols, dtype="float64")
    if fills is not None and not fills.empty:
        flows = -(fills["quantity"].astype("float64") * fills["price"].astype("float64")) - fills["commission"].astype(
            "float64"
        )
        out = out.add(flows.groupby(fills["symbol"].astype(str)).sum(), fill_value=0.0)
    if not positions.empty:
        final = positions.iloc[-1].astype("float64").fillna(0.0)
        final.index = [str(s) for s in final.index]
        marks = last_close.reindex(final.index).astype("float64").fillna(0.0)
        out = out.add(final * marks, fill_value=0.0)
    return out.sort_values(ascending=False)


def return_correlation(close: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of the symbols' daily close-to-close returns (pairwise complete bars)."""
    return close.astype("float64").pct_change(fill_method=None).corr()

"""Correlation of a watchlist's daily returns, ordered by hierarchical clustering so related symbols sit together.

Returns: simple close-to-close returns over the last `lookback` bars up to the as-of bar (pairwise complete
observations, pandas' `corr`). Distance 1 - corr (0 for identical moves, 2 for opposite ones), average
linkage (scipy.cluster.hierarchy.linkage on the condensed distance), leaf order from `leaves_list`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from engine.data.market import MarketData
from engine.errors import DataError

METHOD = "average"


@dataclass(frozen=True)
class ClusteredCorrelation:
    """corr: the correlation matrix in cluster order (rows and columns); order: the symbols in that order;
    linkage: scipy's (n-1, 4) linkage matrix on the original symbol order."""

    corr: pd.DataFrame
    order: list[str]
    linkage: np.ndarray


def returns_window(data: MarketData, lookback: int) -> pd.DataFrame:
    """Simple returns of each symbol over the last `lookback` bars of `data`."""
    return data.close.pct_change(fill_method=None).iloc[-lookback:]


def clustered_correlation(data: MarketData, lookback: int = 252) -> ClusteredCorrelation:
    """The correlation of `data`'s symbols over the last `lookback` bars, in clustering order (see module doc).
    DataError when fewer than two symbols have returns to correlate."""
    corr = returns_window(data, lookback).corr()
    usable = [s for s in corr.columns if corr[s].drop(s).notna().any()]
    corr = corr.loc[usable, usable]
    if len(usable) < 2:
        raise DataError(f"correlation needs at least 2 symbols with overlapping returns; got {usable}")
    filled = corr.fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(filled, 1.0)
    distance = np.clip(1.0 - filled, 0.0, 2.0)
    distance = (distance + distance.T) / 2.0
    z = linkage(squareform(distance, checks=False), method=METHOD)
    order = [usable[i] for i in leaves_list(z)]
    return ClusteredCorrelation(corr.loc[order, order], order, z)

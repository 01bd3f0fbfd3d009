"""Hierarchical risk parity on a numpy window: PyPortfolioOpt's HRPOpt.optimize("single") without its pandas.

The clustering is the libraries' own: scipy's single linkage on the distance sqrt((1 - corr) / 2) (clipped to
[0, 1], as HRPOpt does) and the leaves in scipy's order (`leaves_list`, the order HRPOpt._get_quasi_diag reads
from `to_tree(...).pre_order()`). The allocation is HRPOpt._raw_hrp_allocation's bisection step by step: the
ordered list is cut in halves, each half's inverse-variance portfolio variance splits the weight between them,
down to single symbols. The library does it with a pandas `.loc` per cluster (about 70 per 36-symbol window,
40 ms); here each cluster is a slice of the covariance reordered once. The weights equal HRPOpt.optimize on the
same window (tests/engine/portfolio/test_fast_path_matches_library.py, 1e-12).
"""

from __future__ import annotations

import numpy as np


def _cluster_variance(ordered_cov: np.ndarray, inverse_var: np.ndarray, start: int, stop: int) -> float:
    """Variance of the inverse-variance portfolio of the ordered symbols start..stop-1."""
    inverse = inverse_var[start:stop] / inverse_var[start:stop].sum()
    return float(inverse @ ordered_cov[start:stop, start:stop] @ inverse)


def hrp_array(values: np.ndarray) -> np.ndarray:
    """HRP weights of the window `values` (rows = bars, columns = symbols), in column order, summing to 1."""
    import scipy.cluster.hierarchy as sch
    import scipy.spatial.distance as ssd

    cov = np.cov(values, rowvar=False)
    sd = np.sqrt(np.diag(cov))
    corr = np.clip(cov / sd[:, None] / sd[None, :], -1.0, 1.0)  # np.corrcoef's steps, on the covariance needed below
    distance = np.sqrt(np.clip((1.0 - corr) / 2.0, a_min=0.0, a_max=1.0))
    order = sch.leaves_list(sch.linkage(ssd.squareform(distance, checks=False), "single"))
    ordered_cov = cov[np.ix_(order, order)]
    inverse_var = 1.0 / np.diag(ordered_cov)
    weights = np.ones(len(order))  # by position in `order`
    clusters = [(0, len(order))]
    while clusters:
        clusters = [
            part
            for start, stop in clusters
            if stop - start > 1
            for part in ((start, start + (stop - start) // 2), (start + (stop - start) // 2, stop))
        ]
        for (a0, a1), (b0, b1) in zip(clusters[::2], clusters[1::2], strict=True):
            first = _cluster_variance(ordered_cov, inverse_var, a0, a1)
            second = _cluster_variance(ordered_cov, inverse_var, b0, b1)
            alpha = 1 - first / (first + second)
            weights[a0:a1] *= alpha
            weights[b0:b1] *= 1 - alpha
    out = np.empty_like(weights)
    out[order] = weights
    return out

"""Hierarchical risk parity on a numpy window: PyPortfolioOpt's HRPOpt.optimize("single") without its pandas.

The clustering is the libraries' own: scipy's single linkage on the distance sqrt((1 - corr) / 2) (clipped to
[0, 1], as HRPOpt does) and the leaves in scipy's order (`leaves_list`, the order HRPOpt._get_quasi_diag reads
from `to_tree(...).pre_order()`). The allocation is HRPOpt._raw_hrp_allocation's bisection step by step: the
ordered list is cut in halves, each half's inverse-variance portfolio variance splits the weight between them,
down to single symbols. The library does it with a pandas `.loc` per cluster (about 70 per 36-symbol window,
40 ms); here the covariance is reordered once and each level's clusters are summed at once. The weights equal
HRPOpt.optimize on the same window (tests/engine/portfolio/test_fast_path_matches_library.py, 1e-12).
"""

from __future__ import annotations

import numpy as np


def _split(weights: np.ndarray, q: np.ndarray, inverse_var: np.ndarray, clusters: list[tuple[int, int]]) -> None:
    """One bisection level: `clusters` (disjoint ranges of ordered positions) in pairs; each pair's weight is split
    by alpha = 1 - v1 / (v1 + v2), v = variance of a cluster's inverse-variance portfolio = sum of q over its
    block / (sum of 1/var)^2 (q = the covariance scaled by 1/var on both sides). Every block of the level is
    summed at once (`np.add.reduceat` between the clusters' edges; a gap between them is a block of its own)."""
    edges = np.array(sorted({edge for cluster in clusters for edge in cluster}))
    begin, end = int(edges[0]), int(edges[-1])
    starts = edges[:-1] - begin
    blocks = np.add.reduceat(np.add.reduceat(q[begin:end, begin:end], starts, axis=0), starts, axis=1)
    variance = np.diag(blocks) / np.add.reduceat(inverse_var[begin:end], starts) ** 2
    segment = np.searchsorted(edges[:-1], [start for start, _ in clusters])
    first, second = variance[segment[0::2]], variance[segment[1::2]]
    alpha = 1 - first / (first + second)
    factor = np.ones(len(starts))
    factor[segment[0::2]] = alpha
    factor[segment[1::2]] = 1 - alpha
    weights[begin:end] *= np.repeat(factor, np.diff(edges))


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
    q = inverse_var[:, None] * ordered_cov * inverse_var[None, :]
    weights = np.ones(len(order))  # by position in `order`
    clusters = [(0, len(order))]
    while True:
        clusters = [
            part
            for start, stop in clusters
            if stop - start > 1
            for part in ((start, start + (stop - start) // 2), (start + (stop - start) // 2, stop))
        ]
        if not clusters:
            break
        _split(weights, q, inverse_var, clusters)
    out = np.empty_like(weights)
    out[order] = weights
    return out

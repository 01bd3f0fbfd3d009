"""The Screener's correlation heatmap: x and y in the clustering order, z the correlation matrix in that order
(-1 .. +1 fixed, so colours compare across watchlists), cells labelled with the value to 2 decimals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.research.screen_correlation import ClusteredCorrelation
from ui.charts_screen import correlation_heatmap


def test_heatmap_follows_the_cluster_order() -> None:
    order = ["B", "A", "C"]
    corr = pd.DataFrame([[1.0, 0.9, -0.2], [0.9, 1.0, -0.1], [-0.2, -0.1, 1.0]], index=order, columns=order)
    fig = correlation_heatmap(ClusteredCorrelation(corr, order, np.zeros((2, 4))), lookback=63)
    trace = fig.data[0]
    assert list(trace.x) == order and list(trace.y) == order
    np.testing.assert_array_equal(np.asarray(trace.z), corr.to_numpy())
    assert (trace.zmin, trace.zmax) == (-1, 1)
    assert trace.text[0][2] == "-0.20" and trace.text[1][0] == "0.90"
    assert "63 bars" in fig.layout.title.text

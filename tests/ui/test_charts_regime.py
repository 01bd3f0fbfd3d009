"""ui/charts_regime.py: stretches of equal regimes worked out by hand (undefined bars break a stretch and get no
band), one band shape per stretch in the regime's colour, and one legend entry per regime seen."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ui.charts_regime import REGIME_COLORS, regime_figure, regime_spans

DAYS = pd.bdate_range("2024-01-01", periods=8)
LABELS = pd.Series([np.nan, "calm", "calm", "volatile", np.nan, "volatile", "calm", "calm"], index=DAYS, dtype=object)


def test_spans_by_hand() -> None:
    assert regime_spans(LABELS) == [
        ("calm", DAYS[1], DAYS[3]),
        ("volatile", DAYS[3], DAYS[4]),
        ("volatile", DAYS[5], DAYS[6]),
        ("calm", DAYS[6], DAYS[7]),
    ]
    assert regime_spans(LABELS.iloc[:0]) == []


def test_figure_has_a_band_per_stretch_and_a_legend_entry_per_regime() -> None:
    close = pd.Series(np.arange(8.0) + 100, index=DAYS, name="SPY")
    fig = regime_figure(close, LABELS, ("calm", "volatile"), "SPY by markov regime")
    shapes = fig.layout.shapes
    assert [s.fillcolor for s in shapes] == [REGIME_COLORS[x] for x in ("calm", "volatile", "volatile", "calm")]
    assert all(s.yref == "paper" and s.y0 == 0 and s.y1 == 1 and s.layer == "below" for s in shapes)
    assert [t.name for t in fig.data] == ["SPY", "calm", "volatile"]
    assert list(fig.data[0].y) == list(close)
    assert fig.layout.title.text == "SPY by markov regime"

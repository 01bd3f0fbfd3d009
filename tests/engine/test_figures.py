"""engine.figures: the one equity figure (the app's chart and a batch job's HTML artifact)."""

import numpy as np
import pandas as pd
import pytest

from engine.figures.equity import equity_figure


@pytest.fixture
def equity() -> pd.Series:
    idx = pd.bdate_range("2020-01-01", periods=6)
    return pd.Series([100.0, 110.0, 99.0, 121.0, 108.9, 130.0], index=idx)


def test_equity_panel_over_the_drawdown_panel(equity: pd.Series) -> None:
    fig = equity_figure(equity, equity * 0.5, title="job (backtest): sharpe = 1.2", drawdown=True)
    assert [t.name for t in fig.data] == ["Strategy", "Benchmark", "Drawdown"]
    assert [t.yaxis for t in fig.data] == ["y", "y", "y2"]
    # below the running peak by hand: 110 -> 99 is -10%, 121 -> 108.9 is -10%
    assert list(fig.data[2].y) == pytest.approx([0.0, 0.0, -0.1, 0.0, -0.1, 0.0])
    assert fig.layout.title.text == "job (backtest): sharpe = 1.2"
    assert fig.layout.xaxis2.rangeslider.visible is True and not fig.layout.xaxis.rangeslider.visible
    assert fig.layout.xaxis.rangeselector.buttons and fig.layout.yaxis2.tickformat == ".0%"


def test_without_drawdown_one_panel_and_an_empty_benchmark_is_left_out(equity: pd.Series) -> None:
    fig = equity_figure(equity, pd.Series(dtype=np.float64), log=True)
    assert [t.name for t in fig.data] == ["Strategy"] and fig.layout.yaxis.type == "log"
    assert "yaxis2" not in fig.layout.to_plotly_json()

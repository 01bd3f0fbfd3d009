"""The optimizer's ranked table and the robustness charts name metrics by the registry (label with unit), and
their missing cells show a dash, never "n/a"-as-text mixed with "None"."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from engine.metrics import registry
from ui import charts_robustness as cr
from ui import charts_scorecard
from ui.tables import BLANK


def _trials() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fast": [5, 10, 15],
            "objective": [1.2, 0.8, np.nan],
            "sharpe": [1.2, 0.8, np.nan],
            "max_drawdown": [-0.1, -0.25, np.nan],
            "n_trades": [12.0, 30.0, 0.0],
            "feasible": [True, True, False],
        }
    )


def _cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows if "<td" in r]


def test_ranked_table_headers_are_registry_labels() -> None:
    shown = cr.ranked_table(_trials(), ["fast"], metrics=("sharpe", "max_drawdown", "n_trades"))
    styler = cr.ranked_styler(shown)
    assert list(styler.data.columns) == [
        "rank",
        "fast",
        "objective",
        "Sharpe (annualized)",
        "Max drawdown (%)",
        "Trades (count)",
        "feasible",
    ]
    cells = _cells(styler.to_html())
    assert cells[1][4] == "-25.00%" and cells[1][5] == "30"  # formats follow the registry
    assert cells[2][3] == BLANK and cells[2][4] == BLANK  # missing: a dash
    assert "n/a" not in styler.to_html()


def test_scorecard_missing_detail_is_a_dash() -> None:
    frame = charts_scorecard.scorecard_frame([dict(name="PBO", value=0.4, verdict="warn", detail=None)])
    cells = _cells(charts_scorecard.scorecard_styler(frame).to_html())
    assert cells == [["PBO", "0.4", "warn", BLANK]]


def test_robustness_charts_title_metrics_by_label() -> None:
    stability = pd.DataFrame(
        {"window": [0, 0, 1, 1], "fast": [5, 10, 5, 10], "metric": "sharpe", "value": [1.0, 0.5, 0.8, 0.7]}
    )
    fig = cr.stability_figure(stability, "fast", "sharpe")
    assert registry.label("sharpe") in fig.layout.title.text and "sharpe " not in fig.layout.title.text
    assert fig.data[0].colorbar.title.text == registry.label("sharpe")
    ranking = pd.DataFrame({"symbol": ["A", "B"], "cagr": [0.1, 0.2]})
    bars = charts_scorecard.universe_ranking_figure(ranking, "cagr", kept=["B"])
    assert bars.layout.xaxis.title.text == "CAGR (% per year)"

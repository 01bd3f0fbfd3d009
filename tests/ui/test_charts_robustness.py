"""Robustness chart builders, checked on their figure data against hand-worked values and plain loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ui import charts_montecarlo, charts_scorecard
from ui import charts_robustness as cr


@pytest.fixture
def table() -> pd.DataFrame:
    """A 3-parameter optimizer table (fast x slow x weight), objective = fast + slow / 10 + weight, best first,
    with one infeasible row scored -inf."""
    rows = []
    for fast in (5, 10, 15):
        for slow in (50, 100):
            for weight in (0.5, 1.0):
                rows.append(
                    dict(
                        fast=fast,
                        slow=slow,
                        weight=weight,
                        objective=fast + slow / 10 + weight,
                        sharpe=0.1 * fast,
                        n_trades=fast + slow,
                        feasible=True,
                    )
                )
    df = pd.DataFrame(rows)
    df.loc[(df.fast == 15) & (df.slow == 100) & (df.weight == 1.0), ["objective", "feasible"]] = [-np.inf, False]
    return df.sort_values("objective", ascending=False, ignore_index=True)


def test_heatmap_matrix_mean_over_free_parameter(table) -> None:
    m = cr.heatmap_matrix(table, x="fast", y="slow", agg="mean")
    assert list(m.columns) == [5, 10, 15] and list(m.index) == [50, 100]
    # hand-worked: mean over weight 0.5 and 1.0 of fast + slow/10 + weight = fast + slow/10 + 0.75
    assert m.loc[50, 5] == pytest.approx(5 + 5 + 0.75)
    assert m.loc[100, 10] == pytest.approx(10 + 10 + 0.75)
    # the -inf cell is missing, so only weight 0.5 remains: 15 + 10 + 0.5
    assert m.loc[100, 15] == pytest.approx(25.5)


def test_heatmap_matrix_max_and_fixed(table) -> None:
    assert cr.heatmap_matrix(table, "fast", "slow", agg="max").loc[50, 10] == pytest.approx(10 + 5 + 1.0)
    fixed = cr.heatmap_matrix(table, "fast", "slow", fixed={"weight": 0.5})
    assert fixed.loc[100, 15] == pytest.approx(15 + 10 + 0.5)
    assert fixed.loc[50, 5] == pytest.approx(5 + 5 + 0.5)
    only = cr.heatmap_matrix(table, "fast", "slow", fixed={"weight": 1.0})
    assert math.isnan(only.loc[100, 15])  # the infeasible set is the only one in that cell


def test_heatmap_bad_arguments_name_the_field(table) -> None:
    with pytest.raises(ValueError, match="two different"):
        cr.heatmap_matrix(table, "fast", "fast")
    with pytest.raises(ValueError, match="'nope'"):
        cr.heatmap_matrix(table, "fast", "nope")
    with pytest.raises(ValueError, match="agg"):
        cr.heatmap_matrix(table, "fast", "slow", agg="sum")


def test_heatmap_figure_marks_best_cell(table) -> None:
    fig = cr.param_heatmap_figure(table, "fast", "slow", agg="max", param_names=["fast", "slow", "weight"])
    heat, best = fig.data
    assert isinstance(heat, go.Heatmap)
    assert list(heat.x) == ["5", "10", "15"] and list(heat.y) == ["50", "100"]
    z = np.asarray(heat.z, dtype=float)
    assert z[1, 2] == pytest.approx(15 + 10 + 0.5)  # max over weight; the 1.0 set is infeasible
    # the best cell by plain search over the hand-made table's feasible rows
    ok = table[np.isfinite(table.objective)]
    top = ok.loc[ok.objective.idxmax()]
    assert (best.x[0], best.y[0]) == (str(top.fast), str(top.slow))
    assert "max over weight" in fig.layout.title.text


def test_surface_figure_has_the_same_matrix(table) -> None:
    fig = cr.param_surface_figure(table, "fast", "slow", agg="mean")
    surf = fig.data[0]
    assert isinstance(surf, go.Surface)
    np.testing.assert_allclose(
        np.asarray(surf.z, dtype=float), cr.heatmap_matrix(table, "fast", "slow").to_numpy(), equal_nan=True
    )
    assert list(surf.x) == [5, 10, 15] and list(surf.y) == [50, 100]


def test_ranked_table_and_styler(table) -> None:
    shown = cr.ranked_table(table, ["fast", "slow", "weight"], metrics=("sharpe", "cagr"), top=5)
    assert list(shown.columns) == ["rank", "fast", "slow", "weight", "objective", "sharpe", "feasible"]
    assert list(shown["rank"]) == [1, 2, 3, 4, 5]
    assert shown["objective"].iloc[0] == pytest.approx(15 + 10 + 0.5)
    html = cr.ranked_styler(cr.ranked_table(table, ["fast", "slow", "weight"])).to_html()
    assert "color: #9ca3af" in html  # the infeasible row is greyed


def _max_drawdown_loop(path) -> float:
    peak, worst = -math.inf, 0.0
    for v in path:
        peak = max(peak, v)
        worst = min(worst, v / peak - 1.0)
    return worst


def test_montecarlo_fan_and_distributions() -> None:
    rng = np.random.default_rng(3)
    paths = 100_000 * np.cumprod(1 + rng.normal(0.0005, 0.01, (200, 60)), axis=1)
    paths = np.hstack([np.full((200, 1), 100_000.0), paths])
    dist = charts_montecarlo.path_distributions(paths)
    for i in (0, 17, 199):
        assert dist.final_equity[i] == paths[i, -1]
        assert dist.max_drawdown[i] == pytest.approx(_max_drawdown_loop(paths[i]), abs=1e-15)

    fig = charts_montecarlo.montecarlo_fan_figure(paths, original=paths[0])
    by_name = {t.name: t for t in fig.data}
    # p5 / p95 at step 30, by sorting the 200 values by hand (numpy's linear interpolation: rank q*(n-1))
    col = sorted(paths[:, 30])
    rank = 0.05 * 199
    p5 = col[int(rank)] + (rank - int(rank)) * (col[int(rank) + 1] - col[int(rank)])
    assert by_name["p5-p95"].y[30] == pytest.approx(p5, rel=1e-12)
    assert by_name["median (p50)"].y[30] == pytest.approx((col[99] + col[100]) / 2, rel=1e-12)
    assert by_name["p25-p75"].fill == "tonexty"
    assert list(by_name["original"].y) == list(paths[0])


def test_distribution_figure_marks_and_threshold() -> None:
    values = [0.1, -0.2, np.nan, -0.3]
    fig = charts_montecarlo.distribution_figure(
        values, "Max drawdown", "max drawdown", percent=True, marks={"p5": -0.29, "median": -0.2}, threshold=-0.25
    )
    assert list(fig.data[0].x) == [0.1, -0.2, -0.3]  # NaN dropped
    xs = sorted(s.x0 for s in fig.layout.shapes)
    assert xs == [-0.29, -0.25, -0.2]


def test_walkforward_figures() -> None:
    idx = pd.bdate_range("2020-01-01", periods=100)
    oos = pd.Series(np.linspace(100_000, 120_000, 60), index=idx[40:])
    bench = pd.Series(np.linspace(50, 100, 100), index=idx)
    windows = pd.DataFrame(
        {
            "oos_start": [idx[40], idx[70]],
            "oos_end": [idx[69], idx[99]],
            "params": [{"fast": 5, "slow": 50}, {"fast": 10, "slow": 50}],
        }
    )
    fig = cr.walkforward_equity_figure(oos, bench, windows, initial_cash=100_000)
    b = fig.data[1]
    # buy-and-hold of 100,000 from the close before the first OOS bar (idx[39]), proportional to the price
    assert list(b.x) == list(oos.index)
    assert b.y[0] == pytest.approx(100_000 * bench.iloc[40] / bench.iloc[39])
    assert b.y[-1] == pytest.approx(100_000 * 100 / bench.iloc[39])
    assert len(fig.layout.shapes) == 2
    # without initial cash: rebased to the strategy's first OOS value
    plain = cr.walkforward_equity_figure(oos, bench).data[1]
    assert plain.y[0] == pytest.approx(oos.iloc[0]) and plain.y[-1] == pytest.approx(oos.iloc[0] * 100 / bench.iloc[40])
    path = cr.parameter_path_figure(windows, ["fast", "slow"])
    assert [list(t.y) for t in path.data] == [[5, 10], [50, 50]]
    assert path.data[0].line.shape == "hv"


def test_stability_matrix_and_figure() -> None:
    rows = []
    for w in range(3):
        for fast in (5, 10):
            for slow in (50, 100):
                rows.append(dict(window=w, fast=fast, slow=slow, metric="sharpe", value=w + fast / 10 + slow / 100))
                rows.append(dict(window=w, fast=fast, slow=slow, metric="cagr", value=-1.0))
    st = pd.DataFrame(rows)
    m = cr.stability_matrix(st, "fast", "sharpe")
    # mean over slow (50, 100) -> + 0.75
    assert m.loc[2, 10] == pytest.approx(2 + 1 + 0.75)
    assert m.shape == (3, 2)
    fig = cr.stability_figure(st, "fast", "sharpe", chosen=[5, 10, 10])
    assert list(fig.data[1].x) == ["5", "10", "10"]
    surf = cr.stability_figure(st, "slow", "sharpe", agg="max", kind="surface")
    assert np.asarray(surf.data[0].z)[0, 1] == pytest.approx(0 + 1.0 + 1.0)


def test_universe_and_scorecard() -> None:
    ranking = pd.DataFrame({"symbol": ["AAA", "BBB", "CCC"], "sharpe": [0.2, 0.9, 0.5]})
    fig = charts_scorecard.universe_ranking_figure(ranking, "sharpe", kept=["BBB", "CCC"], threshold=0.4)
    bar = fig.data[0]
    assert list(bar.y) == ["AAA", "CCC", "BBB"]  # ascending so the best is on top
    assert list(bar.marker.color) == [cr.NEUTRAL, cr.STRATEGY, cr.STRATEGY]

    lines = [
        dict(name="deflated sharpe", value=0.97, verdict="pass", detail="p > 0.95"),
        dict(name="PBO", value=0.4, verdict="WARN", detail=None),
        dict(name="plateau", value=float("nan"), verdict="fail", detail="spike"),
    ]
    frame = charts_scorecard.scorecard_frame(lines)
    assert list(frame.verdict) == ["pass", "warn", "fail"]
    assert charts_scorecard.verdict_counts(frame) == {"pass": 1, "warn": 1, "fail": 1}
    html = charts_scorecard.scorecard_styler(frame).to_html()
    for fill in charts_scorecard.VERDICT_FILLS.values():
        assert fill in html
    table = charts_scorecard.scorecard_figure(lines).data[0]
    assert list(table.cells.fill.color[2]) == [charts_scorecard.VERDICT_FILLS[v] for v in ("pass", "warn", "fail")]
    assert list(table.cells.values[1]) == ["0.97", "0.4", "n/a"]

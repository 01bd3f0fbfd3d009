"""Chart labels a trader can read: the Monte Carlo fan's x-axis says trades or bars (not "step"), the labels
of a distribution's marked lines never sit on top of each other, and a heatmap prints its values only when
its cells are wide enough for them."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ui import charts_montecarlo, charts_robustness


@pytest.mark.parametrize(("unit", "axis"), [("trade", "trades"), ("bar", "bars"), (None, "trades or bars")])
def test_fan_x_axis_names_what_a_step_is(unit, axis) -> None:
    paths = np.cumprod(1 + np.random.default_rng(1).normal(0, 0.01, (50, 30)), axis=1) * 1e5
    fig = charts_montecarlo.montecarlo_fan_figure(paths, step_unit=unit)
    assert fig.layout.xaxis.title.text.startswith(axis)
    assert "step" not in fig.layout.xaxis.title.text


def test_labels_of_close_lines_are_on_separate_rows() -> None:
    values = np.random.default_rng(2).normal(-0.2, 0.05, 500)
    marks = {"p5": -0.201, "p50": -0.2, "backtest": -0.2}  # three lines at (almost) the same place
    fig = charts_montecarlo.distribution_figure(values, "Max drawdown", "max drawdown", True, marks, threshold=-0.199)
    labels = {a.text: a for a in fig.layout.annotations}
    assert set(labels) == {"p5", "p50", "backtest", "threshold"}
    for name, x in [*marks.items(), ("threshold", -0.199)]:
        assert labels[name].x == pytest.approx(x)  # each label at its own line
    rows = [(a.yref, a.y) for a in labels.values()]
    assert len(set(rows)) == len(rows), rows  # no two labels share a row
    assert all(a.yref == "paper" and 0.0 < a.y <= 1.0 for a in labels.values())  # inside the plot


def _grid(xs, ys) -> pd.DataFrame:
    rows = [{"fast": x, "slow": y, "objective": x / 100 + y / 1000} for x, y in itertools.product(xs, ys)]
    return pd.DataFrame(rows)


def test_small_heatmap_prints_each_cell_value() -> None:
    xs, ys = (5, 10, 15, 20), (50, 100)
    fig = charts_robustness.param_heatmap_figure(_grid(xs, ys), "fast", "slow")
    text = fig.data[0].text
    assert [list(r) for r in text] == [[f"{x / 100 + y / 1000:.3g}" for x in xs] for y in ys]


def test_wide_heatmap_keeps_values_in_the_hover_only() -> None:
    xs, ys = tuple(range(2, 62, 2)), (50, 100)  # 30 columns: printed values would run into each other
    fig = charts_robustness.param_heatmap_figure(_grid(xs, ys), "fast", "slow")
    assert all(cell == "" for row in fig.data[0].text for cell in row)
    assert "objective=%{z" in fig.data[0].hovertemplate
    np.testing.assert_allclose(np.asarray(fig.data[0].z)[0, :3], [0.02 + 0.05, 0.04 + 0.05, 0.06 + 0.05])

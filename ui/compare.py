"""The Runs page's comparison of several saved runs: equity and drawdown on the common period (the default, said
in a caption) or each on its own dates (a toggle), metrics side by side with each run's difference to the
first (pp for percentage metrics), and the configuration fields that differ.

The frames come from `engine.research.compare` (also behind `ivybt runs compare`); this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from engine.errors import EngineError
from engine.metrics import registry
from engine.research.compare import (
    align_curves,
    config_diff,
    flatten,
    metric_differences,
    metrics_side_by_side,
    run_label,
)
from engine.store.runs import StoredRun
from ui import charts, tables
from ui.result_view import metrics_table

__all__ = ["config_diff", "flatten", "metrics_side_by_side", "run_label", "show_comparison"]


def show_comparison(runs: Sequence[StoredRun], key: str) -> None:
    """Draw the comparison of `runs` (two or more) under widget keys starting with `key`."""
    st.subheader(f"Comparing {len(runs)} runs")
    curves = {run_label(r): r.result.equity for r in runs}
    c1, c2 = st.columns(2)
    common = c1.toggle(
        "Align on the common period",
        value=True,
        key=f"{key}_common",
        help="On: every curve cut to the dates all runs cover and rebased to 1 there. Off: each run on its own dates.",
    )
    log = c2.toggle("Log scale", key=f"{key}_log")
    try:
        shown = align_curves(curves, common=common)
    except EngineError as e:  # no overlap: fall back to each run's own dates, and say why
        st.warning(str(e))
        shown = align_curves(curves, common=False)
    st.caption(shown.caption)
    st.plotly_chart(charts.compare_equity_figure(shown.curves, log=log), key=f"{key}_equity")
    drawdown_curves = {k: c.loc[shown.start : shown.end] for k, c in curves.items()} if shown.aligned else curves
    st.plotly_chart(charts.compare_drawdown_figure(drawdown_curves), key=f"{key}_dd")
    st.markdown("**Metrics side by side**")
    table = metrics_side_by_side(runs)
    metrics_table(table, key=f"{key}_metrics")
    st.markdown("**Difference to the first run** (percentage metrics in percentage points, pp)")
    diffs = metric_differences(table)
    diffs.index = [registry.difference_label(k) if k in registry.KEYS else k for k in diffs.index]
    tables.show(diffs, key=f"{key}_diffs")
    st.markdown("**Configuration differences**")
    diff = config_diff(runs)
    if diff.empty:
        st.info("The selected runs have the same configuration.")
    else:
        tables.show(diff, key=f"{key}_diff")

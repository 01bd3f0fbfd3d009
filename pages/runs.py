"""Runs: every saved run; filter and sort, open one, compare several, delete with confirmation."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.metrics import registry
from ui import charts
from ui.compare import config_diff, metrics_side_by_side, run_label
from ui.result_view import metrics_table, runs_frame, runs_table, show_run
from ui.shell import ensure_navigation
from ui.state import QUERY_KEY, run_store, set_current_run

ensure_navigation()

st.title("Runs")
store = run_store()
everything = store.list()
if everything.empty:
    st.info("No saved runs yet: every backtest you run is saved here.")
    st.page_link("pages/backtest.py", label="Run a backtest", icon=":material/query_stats:")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
strategy = c1.selectbox("Strategy", ["(all)", *sorted(everything["strategy"].unique())], key="runs_strategy")
symbols = sorted({s for row in everything["symbols"] for s in str(row).split(",") if s})
symbol = c2.selectbox("Symbol", ["(all)", *symbols], key="runs_symbol")
sort_by = c3.selectbox("Sort by", ["created_at", *registry.HEADLINE], key="runs_sort")
descending = c4.toggle("Descending", value=True, key="runs_desc")

runs = runs_frame(
    store.list(strategy=None if strategy == "(all)" else strategy, symbol=None if symbol == "(all)" else symbol)
)
runs = runs.sort_values(sort_by, ascending=not descending, na_position="last")
runs_table(
    runs,
    [
        "id",
        "created_at",
        "kind",
        "strategy",
        "symbols",
        "start",
        "end",
        *registry.HEADLINE,
        "final_equity",
    ],
    key="runs_table",
)
st.caption(f"{len(runs)} of {len(everything)} runs. Click a column header to sort the table in place.")

labels = {
    row.id: f"{row.id} · {row.strategy} · {row.symbols} · {row.created_at:%Y-%m-%d %H:%M}" for row in runs.itertuples()
}
chosen = st.multiselect(
    "Select runs (one to open, two or more to compare)", list(labels), format_func=labels.get, key="runs_selected"
)
if not chosen:
    st.stop()

if len(chosen) == 1:
    run = store.load(chosen[0])
    if st.button("Show in the Backtest page", key="runs_to_backtest"):
        set_current_run(run.id)
        st.switch_page("pages/backtest.py", query_params={QUERY_KEY: run.id})  # a reload keeps showing it
    show_run(run, key="runs_view")
else:
    loaded = [store.load(r) for r in chosen]
    st.subheader(f"Comparing {len(loaded)} runs")
    curves = {run_label(r): r.result.equity for r in loaded}
    log = st.toggle("Log scale", key="runs_cmp_log")
    st.plotly_chart(charts.compare_equity_figure(curves, log=log), key="runs_cmp_equity")
    st.plotly_chart(charts.compare_drawdown_figure(curves), key="runs_cmp_dd")
    st.markdown("**Metrics side by side**")
    metrics_table(metrics_side_by_side(loaded), key="runs_cmp_metrics")
    st.markdown("**Configuration differences**")
    diff = config_diff(loaded)
    if diff.empty:
        st.info("The selected runs have the same configuration.")
    else:
        st.dataframe(diff, key="runs_cmp_diff")

with st.expander(f"Delete {len(chosen)} selected run(s)"):
    confirm = st.checkbox(f"Yes, permanently delete {', '.join(chosen)}", key="runs_confirm_delete")
    if st.button("Delete", type="primary", disabled=not confirm, key="runs_delete"):
        try:
            for run_id in chosen:
                store.delete(run_id)
        except EngineError as e:
            st.error(f"Delete failed: {e}")
        else:
            del st.session_state["runs_selected"]
            del st.session_state["runs_confirm_delete"]
            st.rerun()

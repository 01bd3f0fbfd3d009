"""Runs: every saved run; filter (strategy, symbol, tag) and sort, open one and edit its name, tags and notes,
compare several (ui.compare: on the common period or each on its own dates), delete with confirmation."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.metrics import registry
from ui.compare import show_comparison
from ui.result_view import runs_frame, runs_table, show_run
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

c1, c2, c3, c4, c5 = st.columns(5)
strategy = c1.selectbox("Strategy", ["(all)", *sorted(everything["strategy"].unique())], key="runs_strategy")
symbols = sorted({s for row in everything["symbols"] for s in str(row).split(",") if s})
symbol = c2.selectbox("Symbol", ["(all)", *symbols], key="runs_symbol")
tag = c3.selectbox("Tag", ["(all)", *store.all_tags()], key="runs_tag")
sort_by = c4.selectbox("Sort by", ["created_at", *registry.HEADLINE], key="runs_sort")
descending = c5.toggle("Descending", value=True, key="runs_desc")

runs = runs_frame(
    store.list(
        strategy=None if strategy == "(all)" else strategy,
        symbol=None if symbol == "(all)" else symbol,
        tag=None if tag == "(all)" else tag,
    )
)
runs = runs.sort_values(sort_by, ascending=not descending, na_position="last")
runs_table(
    runs,
    [
        "id",
        "name",
        "tags",
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
    row.id: " · ".join(
        [
            row.id,
            *([row.name] if isinstance(row.name, str) and row.name else []),
            row.strategy,
            row.symbols,
            f"{row.created_at:%Y-%m-%d %H:%M}",
        ]
    )
    for row in runs.itertuples()
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
    with st.expander("Name, tags and notes", expanded=False):
        with st.form(f"runs_labels_{run.id}"):
            name = st.text_input("Name", value=run.name or "", key=f"runs_name_{run.id}")
            tags = st.text_input("Tags (comma separated)", value=", ".join(run.tags), key=f"runs_tags_{run.id}")
            notes = st.text_area("Notes", value=run.notes, key=f"runs_notes_{run.id}")
            if st.form_submit_button("Save"):
                try:
                    store.rename(run.id, name)
                    store.set_tags(run.id, [t for t in tags.split(",") if t.strip()])
                    store.set_notes(run.id, notes)
                except EngineError as e:
                    st.error(f"Not saved: {e}")
                else:
                    st.rerun()
    show_run(run, key="runs_view")
else:
    show_comparison([store.load(r) for r in chosen], key="runs_cmp")

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

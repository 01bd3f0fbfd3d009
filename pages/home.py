"""Home: what data is available, the latest runs, the broker mode and how to start."""

from __future__ import annotations

import streamlit as st

from engine.metrics import registry
from ui import data_cache
from ui.result_view import runs_frame, runs_table
from ui.shell import ensure_navigation
from ui.state import run_store
from ui.status import broker_mode
from ui.tables import show as show_table

ensure_navigation()

st.title("IvyBT")
st.markdown(
    "**Quick start:** open **Backtest**, pick symbols and a strategy, press *Run backtest*.  \n"
    "Every run is saved: find, compare and export it later on **Runs**; add your own data on **Data**."
)

info = data_cache.symbol_table()
broker, mode = broker_mode()
c1, c2, c3, c4 = st.columns(4)
c1.metric("Symbols", len(info))
if len(info):
    c2.metric("Data from", f"{info['first'].min():%Y-%m-%d}")
    c3.metric("Data to", f"{info['last'].max():%Y-%m-%d}")
c4.metric("Broker", f"{broker} ({mode.upper()})")
if mode == "live":
    st.warning("LIVE trading is configured: orders from Daily Ops go to a real account.")

left, right = st.columns([2, 3])
with left:
    st.subheader("Data")
    if len(info):
        by_source = info.groupby("source").agg(
            symbols=("symbol", "count"), first=("first", "min"), last=("last", "max")
        )
        show_table(
            by_source,
            key="home_sources",
            column_config={
                "first": st.column_config.DateColumn(format="YYYY-MM-DD"),
                "last": st.column_config.DateColumn(format="YYYY-MM-DD"),
            },
        )
        st.caption(", ".join(info["symbol"]))
    else:
        st.info("No data yet: import CSV/Parquet files on the Data page.")
    st.page_link("pages/data.py", label="Manage data", icon=":material/database:")
with right:
    st.subheader("Recent runs")
    runs = run_store().list(limit=8)
    if runs.empty:
        st.info("No runs yet.")
    else:
        runs_table(
            runs_frame(runs),
            ["id", "created_at", "strategy", "symbols", *registry.HEADLINE],
            key="home_runs",
        )
    st.page_link("pages/backtest.py", label="New backtest", icon=":material/query_stats:")
    st.page_link("pages/runs.py", label="All runs", icon=":material/history:")

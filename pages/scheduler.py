"""Scheduler: placeholder until its issue lands (reachable from the navigation)."""
from __future__ import annotations

import streamlit as st

from ui.shell import ensure_navigation

ensure_navigation()

st.title("Scheduler")
st.info("Coming soon. YAML batches of backtests and optimizations, a persistent job queue with live status, local processes or a Dask cluster arrive with the batch work (issue 5).")
st.page_link("pages/backtest.py", label="Meanwhile: run a backtest", icon=":material/query_stats:")

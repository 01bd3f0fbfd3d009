"""Optimize: placeholder until its issue lands (reachable from the navigation)."""
from __future__ import annotations

import streamlit as st

st.title("Optimize")
st.info("Coming soon. Parameter grids with a ranked table and a two-parameter heatmap, walk-forward (stitched out-of-sample equity, parameter stability) and Monte Carlo bands arrive with the optimization work (issue 4).")
st.page_link("pages/backtest.py", label="Meanwhile: run a backtest", icon=":material/query_stats:")

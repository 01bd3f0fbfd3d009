"""Daily Ops: placeholder until its issue lands (reachable from the navigation)."""
from __future__ import annotations

import streamlit as st

from ui.shell import ensure_navigation

ensure_navigation()

st.title("Daily Ops")
st.info("Coming soon. Today's signals from a preset, the broker account and positions, a rebalance plan with risk checks and one-click execution on the paper broker arrive with the broker work (issue 6).")
st.page_link("pages/backtest.py", label="Meanwhile: run a backtest", icon=":material/query_stats:")

"""IvyBT: the Streamlit entry point. Page config, navigation and the sidebar notification bell; every page lives in pages/.

Run with `streamlit run app.py` (binds to 127.0.0.1 per .streamlit/config.toml).
"""

from __future__ import annotations

import streamlit as st

from ui.notifications import notification_bell
from ui.shell import run_page

st.set_page_config(page_title="IvyBT", page_icon=":material/monitoring:", layout="wide")

PAGES = {
    "Research": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),  # served at /
        st.Page("pages/backtest.py", title="Backtest", icon=":material/query_stats:", url_path="backtest"),
        st.Page("pages/optimize.py", title="Optimize", icon=":material/tune:", url_path="optimize"),
        st.Page("pages/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
        st.Page("pages/regimes.py", title="Regimes", icon=":material/stacked_line_chart:", url_path="regimes"),
        st.Page("pages/journal.py", title="Journal", icon=":material/edit_note:", url_path="journal"),
        st.Page("pages/screener.py", title="Screener", icon=":material/filter_list:", url_path="screener"),
    ],
    "Operations": [
        st.Page("pages/scheduler.py", title="Scheduler", icon=":material/schedule:", url_path="scheduler"),
        st.Page("pages/daily_ops.py", title="Daily Ops", icon=":material/account_balance:", url_path="daily-ops"),
        st.Page("pages/desk.py", title="Desk", icon=":material/point_of_sale:", url_path="desk"),
        st.Page("pages/risk.py", title="Risk", icon=":material/shield:", url_path="risk"),
        st.Page("pages/data.py", title="Data", icon=":material/database:", url_path="data"),
    ],
}

nav = st.navigation(PAGES)
notification_bell()  # the sidebar bell on every page
run_page(nav)  # a workspace database fault on any page: one error box, not a traceback

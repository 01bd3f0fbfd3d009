"""Page set-up shared by every file in pages/, and the page runner app.py calls (`run_page`).

Why `run_page`: a workspace fault (the database locked by another process, damaged, or the disk full) can
surface on any page that touches the database; the runner shows it as one error box naming the file and what
to do, instead of a traceback, in one place for every page.

Why `ensure_navigation`: Streamlit decides at server start whether the app uses the legacy `pages/` folder
(class flag `PagesManager.uses_pages_directory`, True because pages/ exists) and only clears the flag when
`st.navigation` runs in app.py. If the very first request after a start is a deep link such as
`/backtest?run=<id>` (a browser reload), Streamlit runs pages/backtest.py directly through its legacy runner:
no page config, lowercase file names in the sidebar, and every later session stuck in that mode. Seeing the
flag still set, the page clears it and, on the session's first script run (a page load: no click can be
lost), reruns, so app.py (st.navigation) runs and resolves the same URL.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from engine.errors import WorkspaceError


def ensure_navigation() -> None:
    """Rerun through app.py's st.navigation if Streamlit's legacy pages/ runner started this page."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy runner
        return
    first_run = "_ivybt_session_started" not in st.session_state
    st.session_state["_ivybt_session_started"] = True
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        if first_run:
            st.rerun()


def run_page(nav: StreamlitPage) -> None:
    """Run the page `st.navigation` picked; a WorkspaceError becomes an error box with its one-line message."""
    try:
        nav.run()
    except WorkspaceError as e:
        st.error(f"Workspace database problem: {e}", icon=":material/database:")

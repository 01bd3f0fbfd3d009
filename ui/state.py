"""Which run the user is looking at: a run id in session state and in the URL, never the only copy of a run.

The run itself lives in the run store (SQLite). Reloading the browser keeps `?run=<id>` in the address, and
with no id at all the Backtest page falls back to the store's latest run.
"""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.store.runs import RunStore, StoredRun
from engine.store.workspace import db_path

RUN_KEY = "current_run_id"
QUERY_KEY = "run"


@st.cache_resource(show_spinner=False)
def _store_for(path: str) -> RunStore:
    return RunStore(path)


def run_store() -> RunStore:
    """The workspace's run store (one object per database path; IVYBT_HOME is read on every call)."""
    return _store_for(str(db_path()))


def set_current_run(run_id: str) -> None:
    """Point the session and the URL at a saved run."""
    st.session_state[RUN_KEY] = run_id
    st.query_params[QUERY_KEY] = run_id


def current_run_id() -> str | None:
    """The run id from session state, else from `?run=` in the URL (None if neither)."""
    return st.session_state.get(RUN_KEY) or st.query_params.get(QUERY_KEY)


def load_current_run(fallback_latest: bool = True) -> StoredRun | None:
    """The run the user is viewing, read back from the store; the latest saved run when none is selected.

    A stale id (run deleted meanwhile) is dropped with a notice instead of failing the page.
    """
    store = run_store()
    run_id = current_run_id()
    if run_id:
        try:
            return store.load(run_id)
        except EngineError as e:
            st.info(f"Run {run_id} is no longer available ({e}); showing the latest run instead.")
            st.session_state.pop(RUN_KEY, None)
            if QUERY_KEY in st.query_params:
                del st.query_params[QUERY_KEY]
    return store.latest() if fallback_latest else None

"""Which run the user is looking at: a run id in session state and in the URL, never the only copy of a run.

The run itself lives in the run store (SQLite). Reloading the browser keeps `?run=<id>` in the address. With no
id at all there is no run on screen: the Backtest page never shows another session's run (a batch job, another
strategy) as if the user had just run it; stored runs are opened from the Runs page (or by `?run=`).
"""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError, WorkspaceError
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


def load_current_run() -> StoredRun | None:
    """The run the user is viewing, read back from the store: the one run or opened in this session, else the
    one named by `?run=` in the URL; None when neither names one (never the store's latest run).

    A stale id (run deleted meanwhile) is dropped with a notice instead of failing the page.
    """
    run_id = current_run_id()
    if not run_id:
        return None
    try:
        return run_store().load(run_id)
    except WorkspaceError:
        raise  # a locked or damaged database is not a deleted run: the page's error box (ui.shell.run_page)
    except EngineError as e:
        st.info(f"Run {run_id} is no longer available ({e}).")
        st.session_state.pop(RUN_KEY, None)
        if QUERY_KEY in st.query_params:
            del st.query_params[QUERY_KEY]
    return None


def run_title(run: StoredRun) -> str:
    """The heading of a run on screen: its id, the strategy and the symbols, then its name when it has one."""
    named = f" · {run.name}" if run.name else ""
    return f"Run {run.id}: {run.result.strategy} on {', '.join(run.result.symbols)}{named}"

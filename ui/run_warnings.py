"""The warnings a run carries (e.g. a hole in a symbol's data), shown above its results on the Backtest page."""

from __future__ import annotations

import streamlit as st

from engine.sim.result import BacktestResult


def show_warnings(result: BacktestResult) -> None:
    """One st.warning per line of `result.warnings` (nothing when there are none)."""
    for line in result.warnings:
        st.warning(line, icon=":material/warning:")

"""The Data page's "Update data" form: download daily bars (Stooq, keyless; or a configured broker) and merge them
into the workspace through `engine.data.update.update_symbols`, with a progress bar and one result per symbol.

Broker sources join the choices when `brokers.data_sources` is imported (it registers them with the engine).
After an update the cached tables are cleared and the page reruns, so the symbol table shows the new last bars
and ages; the per-symbol results are kept in the session state and shown once after the rerun.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

import brokers.data_sources  # noqa: F401  (registers alpaca / ibkr as update sources)
from engine.data.update import update_symbols
from engine.data.update_sources import update_source_names
from engine.errors import EngineError
from ui import tables

RESULT_COLUMNS = ("symbol", "action", "added", "dropped", "bars", "last", "message")


def update_form(known: Sequence[str], key: str = "data_update", on_update: Callable[[], None] | None = None) -> None:
    """Symbols (empty = every symbol; a new ticker can be typed), source, Update button, progress and results."""
    c1, c2, c3 = st.columns([4, 2, 1], vertical_alignment="bottom")
    chosen = c1.multiselect(
        "Symbols to update (empty = all)",
        list(known),
        key=f"{key}_symbols",
        accept_new_options=True,
        help="Pick symbols, or type a new ticker and press Enter. Empty: every symbol in the table.",
    )
    source = c2.selectbox(
        "Source",
        update_source_names(),
        key=f"{key}_source",
        help="stooq: keyless public daily bars (IVYBT_STOOQ_URL). alpaca / ibkr: needs the broker configured.",
    )
    if c3.button("Update data", key=f"{key}_go", type="primary"):
        bar = st.progress(0.0, text="Starting ...")

        def progress(done: int, total: int, symbol: str) -> None:
            text = f"{symbol} ({done + 1}/{total}) ..." if symbol else f"{total} symbol(s) done"
            bar.progress(done / total if total else 1.0, text=text)

        try:
            results = update_symbols(list(chosen), source, progress=progress)
        except EngineError as e:
            st.error(f"Cannot update from {source}: {e}")
            return
        st.session_state[f"{key}_results"] = [r.to_dict() for r in results]
        if on_update is not None:
            on_update()
        st.rerun()
    _show_results(st.session_state.pop(f"{key}_results", None), key)


def _show_results(rows: list[dict] | None, key: str) -> None:
    if not rows:
        return
    table = pd.DataFrame(rows)
    ok = table[table["action"] != "error"]
    if len(ok):
        added = int(ok["added"].sum())
        replaced = int((ok["action"] == "replaced").sum())
        st.success(
            f"Updated {len(ok)} symbol(s) from {rows[0]['source']}: {added:,} bar(s) added, {replaced} series "
            f"replaced (prices {rows[0]['adjustment']})."
        )
    for row in rows:
        if row["action"] == "error":
            st.error(f"{row['symbol']}: {row['message']}")
    tables.show(table[list(RESULT_COLUMNS)], hide_index=True, key=f"{key}_results_table")

"""Screener: rank a universe (picked symbols, typed ones, or a saved watchlist) by any metric or indicator as of
its last bar, with filters and a top N; download the table, save it as a watchlist, see the universe's
clustered correlation, and schedule the screen on the worker (alerts when symbols enter or leave)."""

from __future__ import annotations

import streamlit as st

from engine.research.screen import ScreenSpec
from ui import screen_view as view
from ui import tables
from ui.shell import ensure_navigation

ensure_navigation()
st.title("Screener")
st.caption(
    "Every value uses the bars up to the as-of date only. Filters: one per line, COLUMN OP VALUE "
    "(e.g. rsi_14<30, momentum_126>0, regime==bull_calm)."
)

source = st.radio("Universe", view.SOURCES, horizontal=True, key="sc_source")
symbols, typed, watchlist = [], "", None
if source == view.SYMBOLS:
    choices = view.bundled_symbols()
    default = [s for s in view.DEFAULT_SYMBOLS if s in choices]
    symbols = st.multiselect("Symbols", choices, default=default, key="sc_symbols")
    typed = st.text_input("More symbols (comma separated)", key="sc_typed")
else:
    names = view.watchlist_names()
    if not names:
        st.info("No watchlists yet: screen some symbols and save the result as a watchlist.")
    watchlist = st.selectbox("Watchlist", names, key="sc_watchlist") if names else None

columns = view.column_choices()
c1, c2, c3 = st.columns(3)
rank = c1.selectbox("Rank by", columns, index=columns.index(view.DEFAULT_RANK), key="sc_rank")
top = c2.number_input("Top N (0 = all)", min_value=0, value=0, step=1, key="sc_top")
asof = c3.text_input("As of (YYYY-MM-DD, blank = newest)", key="sc_asof")
extra = st.multiselect("More columns", columns, key="sc_columns")
filters = st.text_area("Filters", key="sc_filters", height=80)
order = st.radio("Order", ("Default", "Highest first", "Lowest first"), horizontal=True, key="sc_order")

spec = ScreenSpec(
    symbols=view.universe_items(source, symbols, typed, watchlist),
    rank=rank,
    filters=tuple(view.filter_lines(filters)),
    columns=tuple(c for c in extra if c != rank),
    top=int(top) or None,
    asof=asof.strip() or None,
    ascending={"Default": None, "Highest first": False, "Lowest first": True}[order],
)
if st.button("Screen", type="primary", key="sc_run"):
    st.session_state[view.RESULT_KEY] = view.run(spec)

result = st.session_state.get(view.RESULT_KEY)
if result is not None:
    st.subheader(f"{len(result.table)} of {len(result.all_rows)} symbols, bars to {result.asof.date()}")
    view.show_table(result)
    st.download_button("Download CSV", view.csv_bytes(result), "screen.csv", "text/csv", key="sc_csv")
    with st.form("sc_save"):
        name = st.text_input("Save the ranked symbols as watchlist", key="sc_save_name")
        if st.form_submit_button("Save watchlist"):
            view.save_watchlist(name, result.symbols)
    with st.expander("Correlation (clustered)", expanded=True):
        lookback = st.number_input("Bars", min_value=20, value=252, step=21, key="sc_corr_bars")
        view.correlation(result, int(lookback))
    with st.expander("Schedule this screen"):
        view.schedule_form(result.spec)

scheduled = view.schedules_frame()
if not scheduled.empty:
    st.subheader("Scheduled screens")
    tables.show(scheduled, width="stretch")

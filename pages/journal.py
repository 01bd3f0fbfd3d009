"""Journal: notes, tags, setup, emotional state and screenshots on each backtest trade or live fill, shown as
markers on the equity curve, filtering the trade table, and summed up as P&L by tag, setup and state ("which of
my reasons make money?"); export to CSV or Markdown. Built to work on a phone (390 px): no fixed widths, and
Streamlit's columns stack on a narrow screen.
"""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.journal.export import MIME, export_text
from engine.journal.frames import journal_table
from engine.journal.screenshots import MAX_SCREENSHOT_BYTES, UPLOAD_TYPES
from engine.journal.stats import GROUPINGS, pnl_by
from engine.journal.store import JournalStore
from engine.journal.trades import live_fills
from engine.ops.desk_store import DeskStore
from engine.store.runs import RunStore
from ui import data_cache, tables
from ui import journal_view as view
from ui.shell import ensure_navigation

ensure_navigation()
st.title("Journal")
st.caption(
    f"Why you took each trade, how you felt (1-5: {view.SCALE_TEXT}) and what it looked like; then which of "
    "your reasons make money."
)
store = JournalStore()
source = st.radio("Trades of", view.SOURCES, horizontal=True, key="jr_source")

run_id, equity, title = "", None, "Equity"
if source == view.BACKTEST:
    runs = RunStore()
    listed = runs.list()
    if listed.empty:
        st.info("No saved runs yet: run a backtest (Backtest page or `ivybt backtest --save`) to journal its trades.")
        st.stop()
    labels = {r["id"]: view.run_label(r) for _, r in listed.iterrows()}
    run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="jr_run")
    stored = runs.load(run_id)
    trades, equity = stored.result.trades.reset_index(drop=True), stored.result.equity
    journal = journal_table(run_id=run_id, store=store, runs=runs)
else:
    fills = live_fills()
    if fills.empty:
        st.info("No live fills yet: the orders IvyBT executes (Daily Ops) appear here once filled.")
        st.stop()
    broker = st.selectbox("Broker", sorted(fills["broker"].unique()), key="jr_broker")
    trades = fills[fills["broker"] == broker].reset_index(drop=True)
    journal = journal_table(kind="live", broker=broker, store=store)
    accounts = sorted(a for a in trades["account_id"].unique() if a)
    if accounts:
        history = DeskStore().history(broker, accounts[0])
        if len(history) > 1:
            equity, title = history["equity"], f"Equity of {broker} {accounts[0]}"

charts = st.tabs(["Equity", "Price"]) if source == view.BACKTEST else [st.container()]
if equity is not None:
    with charts[0]:
        st.plotly_chart(view.journal_equity_figure(equity, journal, title), key="jr_equity")
if source == view.BACKTEST:
    with charts[1]:  # the run's price chart of one symbol, with its journal entries at their trades' prices
        req = stored.request
        symbol_pick = st.selectbox("Symbol", list(req.symbols), key="jr_price_symbol")
        try:
            bars = data_cache.market_data(tuple(req.symbols), req.start, req.end, req.data_source)
        except EngineError as e:
            st.warning(f"Price data for this run is not available any more: {e}")
        else:
            st.plotly_chart(view.journal_price_figure(stored, bars, symbol_pick, journal), key="jr_price")

rows = view.trade_rows(trades, journal, source)
st.subheader("Trades")
tag_pick = st.multiselect("Only entries tagged", store.tags(), key="jr_filter_tags")
setup_pick = st.selectbox(
    "Only setup", [None, *store.setups()], format_func=lambda s: s or "any", key="jr_filter_setup"
)
only = st.toggle("Journaled trades only", key="jr_filter_only")
shown = view.filter_rows(rows, tag_pick, setup_pick, only)
st.caption(f"{len(shown)} of {len(rows)} trades; {len(journal)} journaled.")
tables.show(shown, key="jr_trades")

st.subheader("Journal a trade")
numbers = list(rows.index)
picked = st.selectbox(
    "Trade", numbers, format_func=lambda n: view.trade_label(n, rows.loc[n], source), key=f"jr_pick_{source}"
)
if picked is not None:
    target, symbol, when = view.target_of(source, picked, trades.loc[picked], run_id)
    current = store.find(target)
    k = f"jr_form_{target.key()}_{st.session_state.get('jr_saves', 0)}"  # fresh widgets per trade and after a save
    setups = store.setups()
    if current is not None and current.setup and current.setup not in setups:  # the list keeps another spelling
        setups.append(current.setup)
    with st.form("jr_form"):
        notes = st.text_area("Notes", value=current.notes if current else "", key=f"{k}_notes")
        tags = st.multiselect(
            "Tags",
            sorted(set(store.tags()) | set(current.tags if current else ())),
            default=list(current.tags) if current else [],
            accept_new_options=True,
            key=f"{k}_tags",
        )
        setup = st.selectbox(
            "Setup",
            setups,
            index=setups.index(current.setup) if current and current.setup in setups else None,
            accept_new_options=True,
            placeholder="Pick or type a new one",
            key=f"{k}_setup",
        )
        state = st.select_slider(
            "Emotional state",
            view.STATE_CHOICES,
            value=current.state if current and current.state else view.NO_STATE,
            format_func=view.state_text,
            key=f"{k}_state",
        )
        uploads = st.file_uploader(
            f"Screenshots (images, at most {MAX_SCREENSHOT_BYTES // 2**20} MB each)",
            type=list(UPLOAD_TYPES),
            accept_multiple_files=True,
            max_upload_size=MAX_SCREENSHOT_BYTES // 2**20,  # the browser stops a bigger file early; the engine checks
            key=f"{k}_shots",
        )
        saved = st.form_submit_button("Save entry" if current is None else f"Save entry #{current.id}", type="primary")
    if saved:
        try:
            entry = view.save_entry(store, target, symbol, when, notes, tags, setup, state, uploads)
        except EngineError as e:
            st.error(str(e))
        else:
            st.session_state["jr_saves"] = st.session_state.get("jr_saves", 0) + 1
            st.session_state["jr_note"] = f"Saved journal entry #{entry.id} ({entry.symbol}, {target.describe()})."
            st.rerun()
    if "jr_note" in st.session_state:
        st.success(st.session_state.pop("jr_note"))
    if current is not None and current.screenshots:
        for shot in current.screenshots:
            st.image(str(store.file_of(shot)), caption=shot.name)
    if current is not None and st.button(f"Delete entry #{current.id}", key="jr_delete"):
        store.delete(current.id)
        st.rerun()

st.subheader("Which of my reasons make money?")
everything = journal_table(store=store)
by = st.radio("P&L by", GROUPINGS, horizontal=True, key="jr_stats_by")
if everything.empty:
    st.info("No journal entries yet.")
else:
    tables.show(view.stats_view(pnl_by(everything, by)), key="jr_stats")
    entries = store.entries()
    pnl = everything["pnl"].tolist()
    for fmt, label in (("csv", "Export CSV"), ("md", "Export Markdown")):
        st.download_button(
            label,
            export_text(fmt, entries, pnl),
            file_name=f"journal.{fmt}",
            mime=MIME[fmt],
            key=f"jr_export_{fmt}",
        )

"""Data: every symbol with its source, range, bars, gaps and age; update from Stooq or a broker; a price preview;
import, fetch and delete."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.data import delete_imported
from engine.errors import EngineError
from engine.ops.freshness import add_freshness, expected_session
from ui import charts_price, data_cache
from ui.alpaca_fetch import alpaca_fetch_form
from ui.data_update import update_form
from ui.shell import ensure_navigation
from ui.tables import show as show_table
from ui.widgets import import_from_path, import_uploads

ensure_navigation()

st.title("Data")
info = add_freshness(data_cache.symbol_table())
show_table(
    info,
    hide_index=True,
    key="data_table",
    column_config={
        "first": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "last": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "largest_gap_days": st.column_config.NumberColumn("largest gap (days)", format="%.0f"),
        "gaps": st.column_config.NumberColumn("gaps (> threshold)"),
        "age_trading_days": st.column_config.NumberColumn("age (trading days)", format="%d"),
    },
)
st.caption(
    f"{len(info)} symbols. Imported symbols (source 'workspace') take precedence over bundled ones. Age: NYSE "
    f"trading days after the last bar up to the last final session, {expected_session():%Y-%m-%d}."
)

st.subheader("Update data")
update_form(list(info["symbol"]), key="data_update", on_update=data_cache.clear)
if "error" in info.columns:
    for row in info[info["error"].fillna("").astype(str) != ""].itertuples():
        st.warning(f"{row.symbol} ({row.source}) cannot be loaded: {row.error}")
    info = info[info["error"].fillna("").astype(str) == ""]

if len(info):
    st.subheader("Preview")
    symbol = st.selectbox("Symbol", list(info["symbol"]), key="data_preview_symbol")
    try:
        data = data_cache.market_data((symbol,))
    except EngineError as e:
        st.error(f"Cannot load {symbol}: {e}")
    else:
        bars = {f: data.field(f)[symbol] for f in ("open", "high", "low", "close", "volume")}
        st.plotly_chart(charts_price.price_figure(pd.DataFrame(bars), symbol), key="data_preview_chart")

st.subheader("Import")
tab_files, tab_folder, tab_alpaca = st.tabs(["Upload files", "From a folder on this machine", "Fetch from Alpaca"])
with tab_files:
    import_uploads(
        "CSV or Parquet files, one per symbol (SYMBOL.csv)",
        key="data_upload",
        on_import=lambda symbols: data_cache.clear(),
    )
with tab_folder:
    import_from_path("Folder or file path", key="data_folder", on_import=lambda symbols: data_cache.clear())
with tab_alpaca:
    alpaca_fetch_form(key="data_alpaca", on_import=lambda symbols: data_cache.clear())

imported = list(info.loc[info["source"] == "workspace", "symbol"]) if len(info) else []
st.subheader("Delete an imported symbol")
if not imported:
    st.caption("Nothing imported yet (bundled symbols cannot be deleted).")
else:
    c1, c2, c3 = st.columns([2, 3, 1], vertical_alignment="bottom")
    target = c1.selectbox("Imported symbol", imported, key="data_delete_symbol")
    confirm = c2.checkbox(f"Yes, delete {target} from the workspace", key="data_delete_confirm")
    if c3.button("Delete", key="data_delete_go", disabled=not confirm, type="primary"):
        try:
            delete_imported(target)
        except EngineError as e:
            st.error(f"Cannot delete {target}: {e}")
        else:
            data_cache.clear()
            st.session_state.pop("data_delete_confirm", None)
            st.rerun()

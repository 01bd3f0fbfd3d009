"""Risk: the Greeks of the book (per position and in total, exposure heatmaps by symbol and sector, the payoff at
expiry and today) and what-if scenarios (a preset or custom shocks, the P&L per position, the price x vol grid).

Thin: the positions come from a broker account (as on the Desk, paper by default) or a positions JSON (uploaded
or pasted, the records `ivybt whatif --positions` reads); ui.risk_view and ui.risk_whatif draw the tabs from the engine's numbers.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from brokers.base import BrokerError
from brokers.registry import REGISTRY
from engine.errors import EngineError
from engine.whatif import Market
from engine.whatif.greeks_book import book_from_data
from ui.daily_ops_view import get_broker
from ui.risk_view import broker_positions, greeks_tab, positions_from_json
from ui.risk_whatif import whatif_tab
from ui.shell import ensure_navigation

BROKER, FILE = "Broker account", "Positions JSON"

ensure_navigation()
st.title("Risk")

source = st.radio("Positions from", [BROKER, FILE], horizontal=True, key="risk_source")
if source == BROKER:
    broker_name = st.selectbox("Broker", [b.name for b in REGISTRY], key="risk_broker")
else:
    uploaded = st.file_uploader("Positions JSON file", type=["json"], key="risk_upload")
    pasted = st.text_area(
        "or paste the JSON",
        key="risk_pasted",
        placeholder='[{"symbol": "SPY", "quantity": 100, "price": 600}, '
        '{"symbol": "SPY261218C00610000", "quantity": 2, "price": 30, "implied_vol": 0.18}]',
    )
with st.expander("Model and benchmark"):
    cols = st.columns(2)
    benchmark = cols[0].text_input("Benchmark", "SPY", key="risk_benchmark").strip().upper() or "SPY"
    asof = cols[1].date_input("Valuation date", dt.datetime.now(dt.UTC).date(), key="risk_asof")
    rate = cols[0].number_input("Rate (annual, %)", -10.0, 50.0, 0.0, 0.25, key="risk_rate")
    dividend = cols[1].number_input("Dividend yield (annual, %)", -10.0, 50.0, 0.0, 0.25, key="risk_dividend")

try:
    if source == BROKER:
        positions = broker_positions(get_broker(broker_name))
        where = f"the {broker_name} account"
    elif uploaded is not None or pasted.strip():
        positions = positions_from_json(uploaded.getvalue() if uploaded is not None else pasted)
        where = "the positions JSON"
    else:
        positions, where = [], ""
    market = Market(asof, rate / 100, dividend / 100)
    book = book_from_data(positions, market, benchmark) if positions else None
except (EngineError, BrokerError) as e:
    st.error(f"Cannot read the positions: {e}")
    st.stop()

if book is None:
    st.info(
        f"No positions in {where}."
        if where
        else "Upload or paste a positions JSON (a list of records with "
        "symbol, quantity, price; options by OCC symbol with implied_vol and underlying_price)."
    )
    st.stop()

st.caption(f"{len(positions)} positions from {where}.")
greeks, whatif = st.tabs(["Greeks", "What-if"])
with greeks:
    greeks_tab(book, positions, market)
with whatif:
    whatif_tab(positions, market, benchmark)

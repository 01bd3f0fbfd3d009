"""Regimes: a symbol's market regimes drawn as coloured bands behind its price, and a stored run's performance
split by regime (which conditions did the strategy earn its money in?)."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from ui import regime_view as view
from ui.charts_regime import regime_figure
from ui.figure_theme import plotly_chart
from ui.shell import ensure_navigation
from ui.state import run_store

ensure_navigation()
st.title("Regimes")
st.caption("Each bar's regime is decided from the prices up to that bar, as the regime_router strategy sees it.")

symbol = st.text_input("Symbol", "SPY", key="rg_symbol").strip().upper()
runs = view.run_choices(run_store())
run_id = st.selectbox("Run (optional)", list(runs), format_func=runs.get, key="rg_run")
try:
    model = view.model_inputs()
    with st.spinner("Fitting the regime model..."):
        report = view.cached_report(symbol, model, run_id)
except EngineError as e:
    st.error(str(e))
    st.stop()

counts = report.labels.value_counts()
now = report.labels.iloc[-1] if len(report.labels) else None
st.markdown(f"**{symbol}** now: **{now if isinstance(now, str) else 'undefined (warm-up)'}**")
plotly_chart(
    regime_figure(report.close, report.labels, model.labels, f"{symbol} by {model.method} regime"),
    "rg_chart",
    {"displaylogo": False, "responsive": True},
)
st.caption(" · ".join(f"{label}: {int(counts.get(label, 0)):,} bars" for label in model.labels))
if report.table is not None:
    st.subheader(f"Run {report.run_id[:8] if report.run_id else ''} by regime")
    view.show_table(report.table)

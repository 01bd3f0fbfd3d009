"""Streamlit pieces of the Regimes page: the regime model's inputs, the cached regime computation, the run
picker and the per-regime table (labels, units and definitions from the metric registry)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engine.metrics import registry
from engine.research.regimes import TABLE_METRICS, RegimeReport, regime_report
from engine.store.runs import RunStore
from engine.strategies.regimes import REGIME_METHODS, RegimeModel
from ui.tables import metric_column, show

NO_RUN = ""
METHOD_TEXT = {
    "voltrend": "Trend x volatility: close above its SMA (bull) or not (bear), realized volatility above its "
    "expanding quantile (volatile) or not (calm).",
    "markov": "Two-state Markov switching of daily returns (statsmodels), refitted every N bars; the regime at a "
    "bar is the more likely state given the returns up to it (filtered probabilities). Each refit takes a "
    "moment: decades of daily bars take a minute or more the first time (a rolling window or a longer refit "
    "interval is faster); the result is kept for this session.",
}


def model_inputs(prefix: str = "rg") -> RegimeModel:
    """The method and its settings; a RegimeModel (ConfigError for a bad value, shown by the page)."""
    d = RegimeModel()
    method = st.radio("Method", REGIME_METHODS, horizontal=True, key=f"{prefix}_method")
    st.caption(METHOD_TEXT[method])
    with st.expander("Model settings"):
        cols = st.columns(3)
        sma = cols[0].number_input("Trend SMA (bars)", 2, 1000, d.sma_length, key=f"{prefix}_sma")
        window = cols[1].number_input("Volatility window (bars)", 2, 500, d.vol_window, key=f"{prefix}_vw")
        quantile = cols[2].number_input("Volatile above quantile", 0.05, 0.95, d.vol_quantile, 0.05, key=f"{prefix}_q")
        history = cols[0].number_input("Bars before the first regime", 20, 5000, d.min_history, key=f"{prefix}_mh")
        markov_window = cols[1].number_input(
            "Markov window (bars, 0 = expanding)", 0, 5000, d.markov_window, key=f"{prefix}_mw"
        )
        refit = cols[2].number_input("Refit Markov every (bars)", 1, 1000, d.refit_every, key=f"{prefix}_rf")
    return RegimeModel(method, int(window), float(quantile), int(sma), int(history), int(markov_window), int(refit))


@st.cache_data(show_spinner=False, max_entries=16)
def cached_report(symbol: str, model: RegimeModel, run_id: str) -> RegimeReport:
    """`regime_report`, cached per symbol, model and run (a Markov model refits many times)."""
    return regime_report(symbol, model, run_id or None)


def run_choices(store: RunStore) -> dict[str, str]:
    """Stored runs by id -> a label, newest first, after the "no run" choice."""
    listed = store.list(limit=200)
    out = {NO_RUN: "No run: the regimes only"}
    for _, row in listed.iterrows():
        title = row["name"] if isinstance(row["name"], str) and row["name"] else row["strategy"]
        out[str(row["id"])] = f"{title} · {row['symbols']} · {str(row['id'])[:8]}"
    return out


def table_config(table: pd.DataFrame) -> dict[str, Any]:
    """Column settings: registry labels and definitions for the metrics, plain ones for bars and share."""
    config: dict[str, Any] = {key: metric_column(key) for key in TABLE_METRICS if key in table.columns}
    config["cagr"] = st.column_config.NumberColumn(
        "Annualized return (% per year)",
        help="The regime's bars chained, annualized over their number.",
        format="percent",
    )
    config["bars"] = st.column_config.NumberColumn("Bars", format="%d")
    config["share"] = st.column_config.NumberColumn("Share of bars (%)", format="percent")
    return config


def show_table(table: pd.DataFrame) -> None:
    """The per-regime table with its legend (the definitions of its metrics)."""
    show(table, column_config=table_config(table))
    legend = [f"- **{registry.label(k)}**: {registry.definition(k)}" for k in TABLE_METRICS if k != "cagr"]
    st.caption(
        "Each bar's return counts in the regime known at the previous close (when the position was decided).\n"
        + "\n".join(legend)
    )

"""The Risk page's What-if tab: pick a preset or saved scenario, or build one (price moves: every symbol, single
symbols, the benchmark by beta; vols: shift, scale, a VIX move; days forward) and save it; then the P&L per
position and in total (engine.whatif.revalue) and the price x vol grid (engine.whatif.pnl_grid) as a heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from engine.errors import ConfigError, EngineError
from engine.whatif import (
    Market,
    Position,
    Scenario,
    list_scenarios,
    load_scenario,
    market_for,
    pnl_grid,
    prepare,
    revalue,
    save_scenario,
)
from engine.whatif.repricing import WhatIfResult
from ui.charts_risk import whatif_grid_figure
from ui.figure_theme import plotly_chart
from ui.risk_view import CHART_CONFIG, TOTAL
from ui.tables import show as show_table

CUSTOM = "custom"


def symbol_moves(text: str) -> dict[str, float]:
    """'XLK=-15, SPY=-8' (percent) -> {"XLK": -0.15, "SPY": -0.08}; ConfigError naming the bad part."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip().upper()] = float(value.strip().rstrip("%")) / 100
        except ValueError:
            raise ConfigError(f"single-symbol move {part!r}: expected SYMBOL=PERCENT, e.g. XLK=-15") from None
    return out


def custom_values(benchmark: str) -> dict[str, Any]:
    """The custom form's shocks as a Scenario's fields (moves in % and vol points on screen, fractions inside)."""
    top, bottom = st.columns(2), st.columns(2)  # two rows, so a narrow screen stacks them in reading order
    price = top[0].number_input("Price move of every symbol (%)", -99.0, 1000.0, -10.0, 1.0, key="risk_price")
    vol = top[1].number_input("Vol shift (vol points)", -100.0, 500.0, 5.0, 1.0, key="risk_vol")
    scale = bottom[0].number_input("Vol scale (x)", 0.01, 100.0, 1.0, 0.1, key="risk_vol_scale")
    days = bottom[1].number_input("Days forward", 0, 3650, 0, 1, key="risk_days")
    values: dict[str, Any] = {
        "price_shock": float(price) / 100,
        "vol_shift": float(vol) / 100,
        "vol_scale": float(scale),
        "days": int(days),
    }
    with st.expander("More shocks: single symbols, the benchmark by beta, a VIX move"):
        moves = st.text_input("Single-symbol moves (%), e.g. XLK=-15, SPY=-8", key="risk_symbol_moves")
        beta = st.number_input(
            f"{benchmark} move (%), each symbol by its beta (0 = off)", -99.0, 1000.0, 0.0, 1.0, key="risk_beta"
        )
        cols = st.columns(2)
        vix_from = cols[0].number_input("VIX from (0 = off)", 0.0, 1000.0, 0.0, 1.0, key="risk_vix_from")
        vix_to = cols[1].number_input("VIX to", 0.0, 1000.0, 0.0, 1.0, key="risk_vix_to")
        vol_map = cols[0].selectbox("VIX map", ["multiplier", "history"], key="risk_vix_map")
        kind = cols[1].selectbox("VIX move as", ["absolute", "relative"], key="risk_vix_kind")
    values["symbol_shocks"] = symbol_moves(moves)
    if beta:
        values["beta_shock"] = {"move": float(beta) / 100, "benchmark": benchmark}
    if vix_from:
        values["vix"] = {
            "start": float(vix_from),
            "end": float(vix_to),
            "map": vol_map,
            "kind": kind,
            "benchmark": benchmark,
        }
    return values


def save_form(values: dict[str, Any]) -> None:
    """Save the custom scenario under a name (then it is offered in the picker and by `ivybt whatif --scenario`)."""
    cols = st.columns([3, 1], vertical_alignment="bottom")
    name = cols[0].text_input("Save as (name)", key="risk_save_name")
    if cols[1].button("Save scenario", key="risk_save"):
        try:
            path = save_scenario(Scenario.from_dict({**values, "name": name.strip()}))
        except EngineError as e:
            st.error(f"Not saved: {e}")
        else:
            st.session_state["risk_saved"] = f"Saved {path.name}: pick {path.stem} in Scenario."
            st.rerun()  # so the picker, drawn above, offers it
    saved = st.session_state.pop("risk_saved", None)
    if saved:
        st.success(saved)


def scenario_inputs(benchmark: str) -> Scenario:
    """A preset or saved scenario by name, or a custom one from the form's shocks."""
    names = {name: (kind, description) for name, kind, description in list_scenarios()}
    choice = st.selectbox(
        "Scenario",
        [CUSTOM, *names],
        key="risk_scenario",
        format_func=lambda n: "custom (the shocks below)" if n == CUSTOM else f"{n} ({names[n][0]})",
    )
    if choice != CUSTOM:
        scenario = load_scenario(choice)
        st.caption(scenario.description or "(no description)")
        with st.expander("What it applies"):
            st.json(scenario.to_dict())
        return scenario
    values = custom_values(benchmark)
    save_form(values)
    return Scenario.from_dict(values)


def pnl_table(result: WhatIfResult) -> pd.DataFrame:
    """The P&L per position and a Total row."""
    rows = [
        {
            "Kind": r.kind,
            "Quantity": r.quantity,
            "Underlying price ($)": r.underlying_price,
            "Shocked price ($)": r.shocked_underlying_price,
            "Implied vol": r.vol,
            "Shocked vol": r.shocked_vol,
            "Base value ($)": r.base_value,
            "Value ($)": r.value,
            "P&L ($)": r.pnl,
        }
        for r in result.rows
    ]
    rows.append({"Base value ($)": result.base_value, "Value ($)": result.value, "P&L ($)": result.pnl})
    return pd.DataFrame(rows, index=pd.Index([r.symbol for r in result.rows] + [TOTAL], name="Symbol"))


def whatif_tab(positions: Sequence[Position], market: Market, benchmark: str = "SPY") -> None:
    """Pick or build a scenario; the P&L table, its total and the price x vol grid."""
    try:
        scenario = scenario_inputs(benchmark)
        holdings = prepare(positions, market)
        shocked_market = market_for(scenario, holdings, market)
        result = revalue(holdings, scenario, shocked_market)
    except EngineError as e:  # a bad shock, an expired option, no daily data for a beta
        st.error(f"What-if: {e}")
        return
    st.metric(f"Total P&L ({scenario.name})", f"{result.pnl:+,.2f}")
    table = pnl_table(result)
    formats = {c: st.column_config.NumberColumn(format="%.2f") for c in table.columns if "$" in c}
    formats |= {c: st.column_config.NumberColumn(format="percent") for c in ("Implied vol", "Shocked vol")}
    formats["Quantity"] = st.column_config.NumberColumn(format="%g")
    show_table(table, column_config=formats)
    grid = pnl_grid(holdings, shocked_market, days=scenario.days)
    st.caption("Every symbol moved by the same price move (rows) and every vol by the same shift (columns).")
    plotly_chart(whatif_grid_figure(grid), "risk_grid", CHART_CONFIG)

"""Streamlit helpers of the Risk page: where its positions come from (a broker account as on the Desk, an uploaded
or pasted positions JSON), the Greeks tab (table with units, exposure heatmaps, payoff diagram) and the What-if
tab (a preset or a custom scenario, the P&L per position and in total, the price x vol grid).

The numbers are the engine's (engine.whatif.greeks_book, payoff, repricing); the figures ui.charts_risk's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from brokers.whatif_positions import to_whatif
from engine.errors import ConfigError, EngineError
from engine.options.occ import OptionContract, is_occ_symbol
from engine.whatif import (
    Market,
    Position,
    Scenario,
    list_scenarios,
    load_scenario,
    market_for,
    pnl_grid,
    positions_from_records,
    prepare,
    revalue,
)
from engine.whatif.greeks_book import GREEKS, GreeksBook, greek_label
from engine.whatif.payoff import payoff_table
from engine.whatif.repricing import WhatIfResult
from ui.charts_risk import exposure_heatmap, payoff_figure, whatif_grid_figure
from ui.figure_theme import plotly_chart
from ui.tables import show as show_table

CHART_CONFIG = {"displaylogo": False, "responsive": True}
CUSTOM = "custom"
TOTAL = "Total"


# ------------------------------------------------------------------------------------------------ positions
def broker_positions(broker: Any) -> list[Position]:
    """The account's positions as what-if records (as brokers.whatif_positions reads them), without closing the
    broker (the app caches remote ones)."""
    rows = broker.positions()
    held = {r.symbol.upper() for r in rows if r.quantity and not is_occ_symbol(r.symbol)}
    underlyings = {OptionContract.parse(r.symbol).underlying for r in rows if r.quantity and is_occ_symbol(r.symbol)}
    missing = sorted(underlyings - held)
    prices = broker.latest_prices(missing) if missing else {}
    return to_whatif(rows, {k.upper(): float(v) for k, v in prices.items()})


def positions_from_json(text: str | bytes) -> list[Position]:
    """Positions from the text of a positions JSON (a list of records, as `ivybt whatif --positions` reads)."""
    try:
        records = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"positions JSON: not JSON: {e}") from None
    return positions_from_records(records)


# ----------------------------------------------------------------------------------------------- Greeks tab
def greeks_table(book: GreeksBook) -> pd.DataFrame:
    """One row per position and a Total row; headers carry the units (greek_label)."""
    columns = {
        "kind": "Kind",
        "quantity": "Quantity",
        "underlying_price": "Underlying price ($)",
        "vol": "Implied vol",
        "value": "Value ($)",
        "beta": f"Beta to {book.benchmark}",
    }
    rows = [{columns[c]: getattr(r, c) for c in columns} | _greeks(r.__dict__, book) for r in book.rows]
    total = book.totals()
    rows.append({columns["value"]: total["value"]} | _greeks(total, book))
    frame = pd.DataFrame(rows, index=pd.Index([r.symbol for r in book.rows] + [TOTAL], name="Position"))
    return frame


def _greeks(values: dict[str, Any], book: GreeksBook) -> dict[str, Any]:
    return {greek_label(g, book.benchmark): values[g] for g in GREEKS}


def _formats(frame: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {c: st.column_config.NumberColumn(format="%.2f") for c in frame.columns}
    out["Implied vol"] = st.column_config.NumberColumn(format="percent")
    out["Quantity"] = st.column_config.NumberColumn(format="%g")
    out["Kind"] = st.column_config.TextColumn()
    return {k: v for k, v in out.items() if k in frame.columns}


def greeks_tab(book: GreeksBook, positions: Sequence[Position], market: Market) -> None:
    """The Greeks table (per position and total), the exposure heatmaps and the payoff diagram."""
    for warning in book.warnings:
        st.warning(warning)
    bench = f"{book.benchmark} at {book.benchmark_price:,.2f}" if book.benchmark_price else book.benchmark
    st.caption(
        f"As of {book.asof}; benchmark {bench}. Delta in shares of the underlying; gamma per $1 move; dollar gamma "
        "= change of dollar delta for a 1 % move; theta per calendar day; vega per vol point (0.01)."
    )
    table = greeks_table(book)
    show_table(table, column_config=_formats(table))
    total = book.totals()
    cols = st.columns(4)
    cols[0].metric("Dollar delta ($)", _money(total["dollar_delta"]))
    cols[1].metric(greek_label("beta_delta", book.benchmark), _money(total["beta_delta"]))
    cols[2].metric("Theta ($/day)", _money(total["theta"]))
    cols[3].metric("Vega ($/vol pt)", _money(total["vega"]))
    st.subheader("Exposure heatmaps")
    st.caption("Cells show dollar figures; the colour of each column is scaled by its largest absolute value.")
    for key in ("symbol", "sector"):
        plotly_chart(exposure_heatmap(book.by(key), key, book.benchmark), f"risk_heat_{key}", CHART_CONFIG)
    st.subheader("Payoff")
    payoff = payoff_table(prepare(positions, market), market)
    plotly_chart(payoff_figure(payoff), "risk_payoff", CHART_CONFIG)


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


# ---------------------------------------------------------------------------------------------- What-if tab
def scenario_inputs() -> Scenario:
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
    top, bottom = st.columns(2), st.columns(2)  # two rows, so a narrow screen stacks them in reading order
    price = top[0].number_input("Price move of every symbol (%)", -99.0, 1000.0, -10.0, 1.0, key="risk_price")
    vol = top[1].number_input("Vol shift (vol points)", -100.0, 500.0, 5.0, 1.0, key="risk_vol")
    scale = bottom[0].number_input("Vol scale (x)", 0.01, 100.0, 1.0, 0.1, key="risk_vol_scale")
    days = bottom[1].number_input("Days forward", 0, 3650, 0, 1, key="risk_days")
    return Scenario(price_shock=float(price) / 100, vol_shift=float(vol) / 100, vol_scale=float(scale), days=int(days))


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


def whatif_tab(positions: Sequence[Position], market: Market) -> None:
    """Pick or build a scenario; the P&L table, its total and the price x vol grid."""
    try:
        scenario = scenario_inputs()
        holdings = prepare(positions, market)
        shocked_market = market_for(scenario, holdings, market)
        result = revalue(holdings, scenario, shocked_market)
    except EngineError as e:  # a bad scenario, an expired option, no daily data for a beta
        st.error(f"What-if: {e}")
        return
    st.metric(f"Total P&L ({scenario.name})", f"{result.pnl:+,.2f}")
    table = pnl_table(result)
    formats = {c: st.column_config.NumberColumn(format="%.2f") for c in table.columns if "$" in c}
    formats |= {c: st.column_config.NumberColumn(format="percent") for c in ("Implied vol", "Shocked vol")}
    show_table(table, column_config=formats)
    grid = pnl_grid(holdings, shocked_market, days=scenario.days)
    st.caption("Every symbol moved by the same price move (rows) and every vol by the same shift (columns).")
    plotly_chart(whatif_grid_figure(grid), "risk_grid", CHART_CONFIG)

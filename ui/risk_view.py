"""Streamlit helpers of the Risk page: where its positions come from (a broker account as on the Desk, an uploaded
or pasted positions JSON) and the Greeks tab (table with units, exposure heatmaps, payoff diagram); the What-if tab
is ui.risk_whatif. The numbers are the engine's (engine.whatif.greeks_book, payoff); the figures ui.charts_risk's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from brokers.whatif_positions import to_whatif
from engine.errors import ConfigError
from engine.options.occ import OptionContract, is_occ_symbol
from engine.whatif import Market, Position, positions_from_records, prepare
from engine.whatif.greeks_book import GREEKS, GreeksBook, greek_label
from engine.whatif.payoff import payoff_table
from ui.charts_risk import exposure_heatmap, payoff_figure
from ui.figure_theme import plotly_chart
from ui.tables import show as show_table

CHART_CONFIG = {"displaylogo": False, "responsive": True}
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

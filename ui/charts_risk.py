"""Pure Plotly builders of the Risk page (no Streamlit calls): the exposure heatmap (symbol or sector x Greek), the
payoff diagram (at expiry and today) and the what-if price x vol grid.

Heatmap colours are scaled per column (each Greek's cells over its largest absolute value, so -1 .. +1 whatever the
unit), the cells and hovers show the dollar figures themselves; the scaled values are what `z` holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from engine.figures.style import GAIN, LOSS, STRATEGY
from engine.figures.style import layout as _layout
from engine.whatif.greeks_book import greek_label
from engine.whatif.payoff import Payoff
from engine.whatif.repricing import PnLGrid

DIVERGING = [[0.0, LOSS], [0.5, "#f5f5f5"], [1.0, GAIN]]
HEATMAP_GREEKS = ("dollar_delta", "dollar_gamma", "theta", "vega", "beta_dollar_delta")
"""The Greeks of the exposure heatmap: all in dollars, so a row reads across."""
EXPIRY_COLOR = "#6b7280"


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def scaled_columns(values: np.ndarray) -> np.ndarray:
    """Each column over its largest absolute value (a column of zeros or blanks stays as it is)."""
    out = np.array(values, dtype=float)
    for j in range(out.shape[1]):
        col = out[:, j]
        top = np.nanmax(np.abs(col)) if np.isfinite(col).any() else 0.0
        if top > 0:
            out[:, j] = col / top
    return out


def exposure_heatmap(
    groups: Sequence[Mapping[str, float | str | None]],
    key: str,
    benchmark: str = "SPY",
    greeks: Sequence[str] = HEATMAP_GREEKS,
) -> go.Figure:
    """Rows = the groups of GreeksBook.by(key) (symbols or sectors), columns = Greeks; colour scaled per column,
    text = the dollar figure."""
    names = [str(g[key]) for g in groups]
    raw = np.array([[np.nan if g[k] is None else float(g[k]) for k in greeks] for g in groups], dtype=float)
    raw = raw.reshape(len(groups), len(greeks))
    labels = [greek_label(k, benchmark) for k in greeks]
    text = [[_money(None if np.isnan(v) else v) for v in row] for row in raw]
    fig = go.Figure(
        go.Heatmap(
            z=scaled_columns(raw),
            x=labels,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale=DIVERGING,
            text=text,
            texttemplate="%{text}",
            customdata=raw,
            hovertemplate="%{y}<br>%{x}: %{customdata:,.2f}<extra></extra>",
            showscale=False,  # the cells print the figures; a colour bar would take a narrow screen's width
        )
    )
    _layout(fig, f"Exposure by {key}", height=max(240, 34 * len(names) + 160), hovermode="closest")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickangle=-30, automargin=True)
    return fig


def payoff_figure(payoff: Payoff) -> go.Figure:
    """The book's P&L per uniform move of its underlyings: at expiry (dashed) and today (the model); the x axis is
    the underlying's price when the book has one underlying, else the move in %."""
    single = len(payoff.spots) == 1
    if single:
        ((name, spot),) = payoff.spots.items()
        x = [spot * (1 + m) for m in payoff.moves]
        x_title = f"{name} price"
    else:
        x = [m * 100 for m in payoff.moves]
        x_title = "move of every underlying (%)"
    fig = go.Figure()
    fig.add_scatter(
        x=x, y=payoff.pnl_expiry, name="At expiry", mode="lines", line=dict(color=EXPIRY_COLOR, dash="dash")
    )
    fig.add_scatter(x=x, y=payoff.pnl_today, name="Today (model)", mode="lines", line=dict(color=STRATEGY))
    fig.add_hline(y=0, line=dict(color="#9ca3af", width=1))
    _layout(fig, "Payoff (P&L vs today)", height=380)
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title="P&L ($)", tickformat=",.0f")
    return fig


def whatif_grid_figure(grid: PnLGrid) -> go.Figure:
    """Total P&L per price move (rows, %) and vol shift (columns, vol points): red losses, green gains."""
    z = np.array(grid.pnl, dtype=float)
    limit = float(np.nanmax(np.abs(z))) if z.size and np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{v * 100:+g} pts" for v in grid.vol_shifts],
            y=[f"{p * 100:+g} %" for p in grid.price_shocks],
            zmin=-limit or -1.0,
            zmax=limit or 1.0,
            colorscale=DIVERGING,
            text=[[_money(v) for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="price %{y}, vol %{x}: %{z:,.2f}<extra></extra>",
            showscale=False,  # the cells print the P&L
        )
    )
    _layout(fig, f"Total P&L: price x vol, {grid.days} days on", height=420, hovermode="closest")
    fig.update_xaxes(title="vol shift", type="category")
    fig.update_yaxes(title="price move", type="category")
    return fig

"""Helpers of the Daily Ops page: the cached broker, status panel, check colouring and the slippage chart.

`slippage_figure` and `checks_display` are pure (no st.* calls). Brokers are held by `st.cache_resource`
(one per broker name and paper-cost setting) so the IBKR adapter's event-loop thread and connection live
across reruns. Nothing here ever shows a secret: the status dict comes from `brokers.execution.broker_status`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.charts import GAIN, GRID, LOSS, NEUTRAL, STRATEGY

ICONS = {"pass": "🟢 pass", "warn": "🟠 warn", "fail": "🔴 FAIL"}
STATE_ICONS = {"filled": "🟢 filled", "partially_filled": "🟠 partial", "new": "🔵 open", "rejected": "🔴 rejected",
               "canceled": "⚪ canceled", "expired": "⚪ expired", "unknown": "🔴 unknown"}


@st.cache_resource(show_spinner=False)
def _remote_broker(name: str) -> Any:
    from brokers import make_broker

    return make_broker(name)


def get_broker(name: str, commission_bps: float = 0.0, slippage_bps: float = 0.0) -> Any:
    """The broker adapter for `name` (settings and keys from the environment).

    Alpaca and IBKR are cached (`st.cache_resource`: one connection and loop thread across reruns). The paper
    broker is made on each run with the preset's costs: it is only a handle on the workspace database.
    """
    from brokers import make_broker
    from engine.config import Costs

    if name == "paper":
        return make_broker("paper", costs=Costs(commission_bps=commission_bps, slippage_bps=slippage_bps))
    return _remote_broker(name)


def status_panel(status: dict[str, Any]) -> None:
    """Connected / account / equity / cash with a PAPER or LIVE badge."""
    live = bool(status.get("live"))
    st.badge("LIVE" if live else "PAPER", color="red" if live else "green",
             icon=":material/warning:" if live else ":material/science:")
    if not status.get("connected"):
        st.error(f"{status['broker']}: not connected. {status.get('error', '')} "
                 "Check the broker settings in the environment (see the README), then reload.")
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Broker", status["broker"], delta="connected", delta_color="normal", delta_arrow="off")
    c2.metric("Account", status["account_id"])
    c3.metric("Equity", f"{status['equity']:,.2f} {status['currency']}")
    c4.metric("Cash", f"{status['cash']:,.2f}")


def checks_display(checks: pd.DataFrame) -> pd.DataFrame:
    """The plan's checks with a coloured status column (🟢 pass, 🟠 warn, 🔴 FAIL)."""
    out = checks.copy()
    out["status"] = out["status"].map(ICONS).fillna(out["status"])
    return out.set_index("check")


def orders_display(orders: pd.DataFrame) -> pd.DataFrame:
    out = orders.copy()
    out["status"] = out["status"].map(STATE_ICONS).fillna(out["status"])
    return out.set_index("symbol")


def slippage_figure(results: pd.DataFrame) -> go.Figure:
    """Slippage per filled order over time (bps, positive = worse than the plan's reference price), with the
    running mean. `results` = AuditLog.order_results(): updated_at, symbol, side, slippage_bps."""
    fig = go.Figure()
    done = results.dropna(subset=["slippage_bps"]).copy()
    if not done.empty:
        done["t"] = pd.to_datetime(done["updated_at"], utc=True)
        done = done.sort_values("t")
        colors = [LOSS if v > 0 else GAIN for v in done["slippage_bps"]]
        fig.add_trace(go.Scatter(
            x=done["t"], y=done["slippage_bps"], mode="markers", name="order", marker=dict(color=colors, size=9),
            customdata=done[["symbol", "side"]].to_numpy(),
            hovertemplate="%{customdata[0]} %{customdata[1]}: %{y:.1f} bps<extra></extra>"))
        fig.add_trace(go.Scatter(x=done["t"], y=done["slippage_bps"].expanding().mean(), mode="lines",
                                 name="running mean", line=dict(color=STRATEGY)))
    fig.add_hline(y=0, line=dict(color=NEUTRAL, dash="dot"))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", yaxis_title="slippage (bps)",
                      legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0))
    fig.update_xaxes(gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig

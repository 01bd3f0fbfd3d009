"""Helpers of the Daily Ops page: the cached broker, status panel, check colouring and the slippage chart.

`slippage_figure` and `checks_display` are pure (no st.* calls). Brokers are held by `st.cache_resource`
(one per broker name and settings) so the IBKR adapter's event-loop thread and connection live across
reruns. Alpaca keys come from Streamlit secrets when a secrets.toml has them (`alpaca_secret_keys`), else
from the environment (the adapter reads it). Nothing here ever shows, logs or stores a secret: the status
dict comes from `brokers.services.broker_status`, and keys only travel as arguments to `make_broker`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from brokers import env_settings, make_broker
from brokers.services import reset_paper_account
from engine.config import Costs
from engine.data import load_market_data
from engine.errors import EngineError
from ui.charts import GAIN, GRID, LOSS, NEUTRAL, STRATEGY

# Plain words, no emoji: a plain Debian box has no emoji font and draws them as boxes.
ICONS = {"pass": "pass", "warn": "warn", "fail": "FAIL"}
STATE_ICONS = {
    "filled": "filled",
    "partially_filled": "partial",
    "new": "open",
    "rejected": "rejected",
    "canceled": "canceled",
    "expired": "expired",
    "unknown": "unknown",
}


KEY_SECRETS: dict[str, tuple[str, ...]] = {
    "api_key": ("ALPACA_API_KEY", "APCA_API_KEY_ID"),
    "secret_key": ("ALPACA_SECRET_KEY", "APCA_API_SECRET_KEY"),
}


def alpaca_secret_keys() -> dict[str, str]:
    """Alpaca keys from Streamlit secrets: top-level ALPACA_API_KEY / ALPACA_SECRET_KEY (or APCA_API_KEY_ID /
    APCA_API_SECRET_KEY), or an `[alpaca]` table with api_key / secret_key. {} when there is no secrets.toml,
    it cannot be read, or it lacks either key (the environment then applies)."""
    if not st.secrets.load_if_toml_exists():
        return {}
    table = st.secrets.get("alpaca")
    out: dict[str, str] = {}
    for arg, names in KEY_SECRETS.items():
        found = [st.secrets.get(n) for n in names]
        if isinstance(table, Mapping):
            found.append(table.get(arg))
        value = next((str(v) for v in found if isinstance(v, str) and v.strip()), None)
        if value:
            out[arg] = value.strip()
    return out if len(out) == len(KEY_SECRETS) else {}


@st.cache_resource(show_spinner=False)
def _remote_broker(name: str, settings: tuple[tuple[str, Any], ...], keys: tuple[tuple[str, str], ...]) -> Any:
    """One adapter per broker, environment settings and keys (a changed setting makes a new one)."""
    return make_broker(name, **dict(keys))


def get_broker(name: str, commission_bps: float = 0.0, slippage_bps: float = 0.0) -> Any:
    """The broker adapter for `name` (settings from the environment, Alpaca keys from secrets or environment).

    Alpaca and IBKR are cached (`st.cache_resource`: one connection and loop thread across reruns). The paper
    broker is made on each run with the preset's costs: it is only a handle on the workspace database.
    """
    if name == "paper":
        return make_broker("paper", costs=Costs(commission_bps=commission_bps, slippage_bps=slippage_bps))
    keys = alpaca_secret_keys() if name == "alpaca" else {}
    return _remote_broker(name, tuple(sorted(env_settings(name).items())), tuple(sorted(keys.items())))


def session_opens(symbols: Sequence[str], source: Any = None) -> dict[str, pd.Series]:
    """Daily opens per symbol from the data source (default: the workspace, then the bundled sample); a
    symbol the source does not have is left out (its fills stay "pending")."""
    out: dict[str, pd.Series] = {}
    for sym in dict.fromkeys(symbols):
        try:
            out[sym] = load_market_data([sym], source=source).open[sym]
        except EngineError:
            continue
    return out


def status_panel(status: dict[str, Any]) -> None:
    """A PAPER or LIVE badge with the account id beside it, then three cards: broker (connected), equity and cash
    (the currency in the label, so each value fits its card; an account id is too long for one)."""
    live = bool(status.get("live"))
    b1, b2 = st.columns([1, 8], vertical_alignment="center")
    b1.badge(
        "LIVE" if live else "PAPER",
        color="red" if live else "green",
        icon=":material/warning:" if live else ":material/science:",
    )
    if status.get("account_id"):
        b2.caption(f"Account **{status['account_id']}**")
    if not status.get("connected"):
        st.error(
            f"{status['broker']}: not connected. {status.get('error', '')} "
            "Check the broker settings in the environment or the Streamlit secrets (see the README), then "
            "reload."
        )
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Broker", status["broker"], delta="connected", delta_color="normal", delta_arrow="off")
    c2.metric(f"Equity ({status['currency']})", f"{status['equity']:,.2f}")
    c3.metric(f"Cash ({status['currency']})", f"{status['cash']:,.2f}")


def paper_reset_panel(broker: Any) -> bool:
    """Sidebar expander to start the paper account over (cash input, confirmation box, button); True if reset."""
    with st.sidebar.expander("Paper account"):
        cash = st.number_input("Starting cash", min_value=0.0, value=100_000.0, step=10_000.0, key="ops_reset_cash")
        sure = st.checkbox("Delete the paper positions, orders and fills", key="ops_reset_confirm")
        if not st.button("Reset paper account", key="ops_reset", disabled=not sure, icon=":material/restart_alt:"):
            return False
        reset_paper_account(float(cash), origin="app", broker=broker)
        return True


def checks_display(checks: pd.DataFrame) -> pd.DataFrame:
    """The plan's checks with their status in words (pass, warn, FAIL)."""
    out = checks.copy()
    out["status"] = out["status"].map(ICONS).fillna(out["status"])
    return out.set_index("check")


def report_banner(report: Any) -> tuple[str, str]:
    """How the page announces an execution report (brokers.reconcile.ExecutionReport): the Streamlit call
    ("info", "success" or "warning") and its text. A plan already executed is news, not an error: nothing was sent
    again and its summary says how it ended."""
    if report.status != "complete":
        return "warning", report.summary()
    if report.already_executed:
        return "info", f"{report.summary()}: nothing was sent again"
    return "success", report.summary()


def orders_display(orders: pd.DataFrame) -> pd.DataFrame:
    out = orders.copy()
    out["status"] = out["status"].map(STATE_ICONS).fillna(out["status"])
    return out.set_index("symbol")


MEASURES: tuple[tuple[str, str, str, str], ...] = (
    # column, legend name, marker symbol, line dash
    ("slippage_bps", "vs plan price", "circle", "solid"),
    ("slippage_open_bps", "vs session open (backtest)", "diamond", "dash"),
)


def slippage_figure(quality: pd.DataFrame) -> go.Figure:
    """Slippage per filled order over time (bps, positive = worse), two measures with their running means:
    vs the plan's reference price and vs the open of the session the order filled in (the backtest's fill).

    `quality` = `engine.ops.audit_log.slippage_vs_open(AuditLog.order_results(), opens)`: filled_at / updated_at,
    symbol, side, slippage_bps, slippage_open_bps (NaN while the session's bar is not in the data)."""
    fig = go.Figure()
    if not quality.empty:
        done = quality.copy()
        when = done["filled_at"].where(done["filled_at"].notna(), done["updated_at"])
        done["t"] = pd.to_datetime(when, utc=True, format="ISO8601")
        done = done.sort_values("t")
        for col, label, symbol, dash in MEASURES:
            rows = done.dropna(subset=[col]) if col in done else done.iloc[:0]
            if rows.empty:
                continue
            colors = [LOSS if v > 0 else GAIN for v in rows[col]]
            fig.add_trace(
                go.Scatter(
                    x=rows["t"],
                    y=rows[col],
                    mode="markers",
                    name=label,
                    marker=dict(color=colors, size=9, symbol=symbol),
                    customdata=rows[["symbol", "side"]].to_numpy(),
                    hovertemplate=f"%{{customdata[0]}} %{{customdata[1]}} {label}: %{{y:.1f}} bps<extra></extra>",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=rows["t"],
                    y=rows[col].expanding().mean(),
                    mode="lines",
                    name=f"running mean {label}",
                    line=dict(color=STRATEGY, dash=dash),
                )
            )
    fig.add_hline(y=0, line=dict(color=NEUTRAL, dash="dot"))
    fig.update_layout(
        height=360,
        margin=dict(l=10, r=10, t=30, b=10),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        yaxis_title="slippage (bps)",
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0),
    )
    fig.update_xaxes(gridcolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig

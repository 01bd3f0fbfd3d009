"""Desk: the account at a glance (equity, day P&L, exposure), positions with P&L and drift, open orders with
cancel buttons and a modify control each, closed orders (filtered by symbol, side and submission date), the
equity history (snapshots and drawdown, with the chosen preset's backtest rebased beside it:
engine.ops.desk_tracking), the live loop of an event preset (start / stop / status: ui.live_control), and the
emergency flatten behind a typed confirmation.

Thin: widgets -> one brokers.desk / brokers.flatten call -> draw. The account part refreshes itself every N
seconds (st.fragment(run_every=...)); each refresh reads the account through the desk, so it is snapshotted
into the equity history. Cancel, modify and flatten run as button callbacks, before the view is drawn, so what
is drawn after an action is read from the broker after it (their errors are shown on that run).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from brokers.base import BrokerError
from brokers.desk import (
    SIDES_FILTER,
    cancel_all,
    cancel_order,
    equity_history,
    modify_order,
    orders_view,
    positions_view,
    preset_targets,
)
from brokers.flatten import flatten
from brokers.registry import REGISTRY
from engine.errors import EngineError
from engine.figures.equity import equity_figure
from engine.ops.desk_tracking import preset_tracking
from engine.store.presets import list_presets
from ui.daily_ops_view import get_broker
from ui.desk_financing import financing_section
from ui.desk_view import MONEY_COLUMNS, PERCENT_COLUMNS, closed_table, column_label, modify_inputs, order_label
from ui.live_control import live_control
from ui.shell import ensure_navigation
from ui.tables import show as show_table

CONFIRM_WORD = "FLATTEN"
FORMATS = {c: st.column_config.NumberColumn(column_label(c), format="%.2f") for c in MONEY_COLUMNS} | {
    c: st.column_config.NumberColumn(column_label(c), format="percent") for c in PERCENT_COLUMNS
}


def columns(frame: pd.DataFrame) -> dict:
    """Column settings of a desk table: readable headers for every column, money to cents, fractions in %."""
    return {c: FORMATS.get(c) or st.column_config.Column(column_label(c)) for c in frame.columns}


ensure_navigation()
st.title("Desk")

with st.sidebar:
    broker_name = st.selectbox("Broker", [b.name for b in REGISTRY], key="desk_broker")
    drift_preset = st.selectbox("Drift vs preset", ["(none)", *list_presets()], key="desk_preset")
    refresh = st.number_input("Refresh every (s, 0 = off)", 0, 3600, 30, step=5, key="desk_refresh")

try:
    broker = get_broker(broker_name)
    targets = preset_targets(drift_preset) if drift_preset != "(none)" else None
except (EngineError, BrokerError) as e:
    st.error(f"Cannot use {broker_name}: {e}")
    st.stop()


def _cancel(order_id: str | None) -> None:
    """Button callback (runs before the page): cancel one order, or all (None); problems shown on the page."""
    try:
        rows = cancel_all(broker, origin="app") if order_id is None else []
        if order_id is not None:
            cancel_order(broker, order_id, origin="app")
    except BrokerError as e:
        rows = [{"id": order_id, "symbol": "", "error": str(e)}]
    st.session_state["desk_errors"] = [
        f"cancel failed: {r['id']} {r['symbol']}: {r['error']}" for r in rows if r["error"]
    ]


def _modify(order_id: str, fields: list[str]) -> None:
    """Apply button callback: modify the order with the inputs changed from the order's values (the others are
    left alone); the result is shown on the page."""
    keys = {f: f"desk_mod_{order_id}_{f}" for f in fields}
    values = {f: st.session_state[k] for f, k in keys.items() if st.session_state[k] != st.session_state[k + "_shown"]}
    try:
        after = modify_order(broker, order_id, **values, origin="app")
    except BrokerError as e:
        st.session_state["desk_errors"] = [f"modify failed: {e}"]
    else:
        st.session_state["desk_notice"] = f"order {order_id} modified: {order_label(after)} ({after.status})"


def _flatten() -> None:
    """Flatten button callback; the confirmation is cleared, so the next flatten needs it typed again."""
    st.session_state["desk_flatten_confirm"] = ""
    try:
        report = flatten(broker, origin="app")
    except BrokerError as e:
        st.session_state["desk_flatten_result"] = ("error", f"flatten failed: {e}")
    else:
        st.session_state["desk_flatten_result"] = (
            "success" if report.status == "flat" else "warning",
            report.summary(),
        )


def open_orders(orders: pd.DataFrame) -> None:
    """The open orders, each with its cancel button and modify control (inputs prefilled from the order)."""
    show_table(orders.set_index("id"), column_config=columns(orders))
    for row in orders.itertuples():
        cancel, modify = st.columns([2, 3])
        cancel.button(f"Cancel {order_label(row)}", key=f"desk_cancel_{row.id}", on_click=_cancel, args=(row.id,))
        with modify.expander(f"Modify {order_label(row)}"):
            fields = modify_inputs(row)
            for field, label, value in fields:
                key = f"desk_mod_{row.id}_{field}"
                if st.session_state.get(key + "_shown") != value:  # new, or the order changed: show its value
                    st.session_state[key] = st.session_state[key + "_shown"] = value
                st.number_input(label, min_value=0.0, format="%g", key=key)
            st.button(
                "Apply",
                key=f"desk_modify_{row.id}",
                on_click=_modify,
                args=(row.id, [f for f, _, _ in fields]),
            )
    st.button("Cancel all open orders", key="desk_cancel_all", on_click=_cancel, args=(None,))


def closed_orders() -> None:
    """Closed orders (filled, canceled, rejected, expired) filtered by symbol, side and submission date."""
    cols = st.columns(3)
    symbol = cols[0].text_input("Symbol", key="desk_closed_symbol")
    side = cols[1].selectbox("Side", ["any", *SIDES_FILTER], key="desk_closed_side")
    since = cols[2].date_input("Submitted since", value=None, key="desk_closed_since")
    closed = orders_view(broker, "closed", symbol.strip() or None, None if side == "any" else side, since)
    if closed.empty:
        st.info("No closed orders" + (" match the filters." if symbol.strip() or side != "any" or since else "."))
    else:
        show_table(closed_table(closed), column_config=columns(closed))


@st.fragment(run_every=refresh or None)
def live_view() -> None:
    for message in st.session_state.pop("desk_errors", []):
        st.error(message)
    notice = st.session_state.pop("desk_notice", None)
    if notice:
        st.success(notice)
    try:
        summary, positions = positions_view(broker, targets=targets)
        orders = orders_view(broker, "open")
    except (EngineError, BrokerError) as e:
        st.error(f"{broker_name}: {type(e).__name__}: {e}")
        return
    cur = summary["currency"]
    st.caption(f"{broker_name} [{'LIVE' if summary['live'] else 'PAPER'}] account {summary['account_id']} ({cur})")
    cols = st.columns(6)
    day = summary["day_pnl"]
    cols[0].metric(f"Equity ({cur})", f"{summary['equity']:,.2f}")
    cols[1].metric(
        f"Day P&L ({cur})",
        "n/a" if day is None else f"{day:+,.2f}",
        None if day is None else f"{summary['day_pnl_pct'] * 100:+.2f} %",
    )
    cols[2].metric(f"Cash ({cur})", f"{summary['cash']:,.2f}")
    cols[3].metric(f"Buying power ({cur})", f"{summary['buying_power']:,.2f}")
    cols[4].metric(f"Gross / net ({cur})", f"{summary['gross_exposure']:,.0f} / {summary['net_exposure']:,.0f}")
    cols[5].metric("Leverage", f"{summary['leverage']:.2f}x")

    st.subheader("Positions")
    if positions.empty:
        st.info("No positions.")
    else:
        show_table(positions.set_index("symbol"), column_config=columns(positions))

    st.subheader("Open orders")
    if orders.empty:
        st.info("No open orders.")
    else:
        open_orders(orders)

    st.subheader("Closed orders")
    try:
        closed_orders()
    except (EngineError, BrokerError) as e:
        st.error(f"{broker_name}: {type(e).__name__}: {e}")


live_view()

st.subheader("Equity history")
try:
    history = equity_history(broker)
    tracking = preset_tracking(drift_preset, history["equity"]) if drift_preset != "(none)" else None
except (EngineError, BrokerError) as e:
    st.warning(f"Equity history: {type(e).__name__}: {e}")
else:
    for warning in history.attrs.get("warnings", []):
        st.warning(warning)
    st.caption(
        "Every account read is a snapshot. With a preset chosen, its backtest over the same dates, rebased to the "
        "first snapshot's equity, is drawn beside the live equity."
    )
    if tracking is not None and tracking.empty:
        st.info(f"No {drift_preset} backtest bars over the snapshot dates.")
    st.plotly_chart(
        equity_figure(
            history["equity"],
            benchmark=tracking,
            name="Live",
            benchmark_name=f"Backtest ({drift_preset})",
            title="Equity history",
            drawdown=True,
        ),
        key="desk_equity_history",
    )

financing_section(broker)

st.subheader("Live loop")
st.caption(
    "Runs an event preset's strategy on every new bar as it closes (`ivybt live`, in the background): orders through "
    "this broker, kill switch and risk limits honoured, every decision in the audit log."
)
try:
    live_account = None if not broker.is_live else broker.account().account_id
except BrokerError as e:
    st.warning(f"Live loop: {type(e).__name__}: {e}")
else:
    live_control(broker_name, live_account)

st.subheader("Flatten")
st.caption(
    "Turns the kill switch on, cancels every open order and closes every position at market. Safe to repeat: "
    "an interrupted flatten resumes."
)
typed = st.text_input(f"Type {CONFIRM_WORD} to confirm", key="desk_flatten_confirm")
st.button(
    "Flatten everything",
    key="desk_flatten",
    type="primary",
    disabled=typed.strip() != CONFIRM_WORD,
    on_click=_flatten,
)
if "desk_flatten_result" in st.session_state:
    level, text = st.session_state.pop("desk_flatten_result")
    {"success": st.success, "warning": st.warning, "error": st.error}[level](text)

"""Daily Ops: today's signals from a preset, a rebalance plan with risk checks, one-click execution, the audit log.

Flow: choose broker and preset -> "Generate signals" (fresh data, targets, plan and checks) -> confirm ->
"Execute" -> order results, reconciliation; the audit log and fill quality are always shown. The paper broker
is the default; a live account needs its account id typed before Execute is enabled.
"""

from __future__ import annotations

import streamlit as st

from brokers.base import BrokerError
from brokers.planning import plan_rebalance
from brokers.registry import REGISTRY
from brokers.services import audit_events, audit_signal_failure, broker_status, kill_switch_status, switch_kill_switch
from engine.errors import EngineError
from engine.ops.audit_log import AuditLog, slippage_vs_open
from engine.ops.plan_summary import plan_outcome
from engine.ops.signals import generate_signals
from engine.store.presets import list_presets, load_preset
from ui import tables
from ui.daily_ops_execute import execute_panel
from ui.daily_ops_view import (
    checks_display,
    get_broker,
    orders_display,
    paper_reset_panel,
    report_banner,
    session_opens,
    slippage_figure,
    status_panel,
)
from ui.shell import ensure_navigation

ensure_navigation()
st.title("Daily Ops")
state = st.session_state

with st.sidebar:
    broker_name = st.selectbox(
        "Broker",
        [b.name for b in REGISTRY],
        key="ops_broker",
        help="; ".join(f"{b.name}: {b.description}" for b in REGISTRY)
        + ". Broker settings come from the environment, Alpaca keys from the Streamlit secrets or the "
        "environment; they are never shown here.",
    )
    presets = list_presets()
    preset_name = st.selectbox("Preset", presets, key="ops_preset", index=0 if presets else None)
    with st.expander("Kill switch"):
        reason = kill_switch_status()
        if reason:
            st.error(f"ON: {reason}")
            if st.button("Turn off", key="ops_kill_off"):
                switch_kill_switch(False, origin="app")
                st.rerun()
        else:
            why = st.text_input("Reason", key="ops_kill_reason")
            if st.button("Turn ON (blocks every execution)", key="ops_kill_on"):
                switch_kill_switch(True, why, origin="app")
                st.rerun()

if not preset_name:
    st.info("No presets yet: save one from the Backtest page, then come back to trade it.")
    st.page_link("pages/backtest.py", label="Backtest", icon=":material/query_stats:")
    st.stop()

try:
    preset = load_preset(preset_name)
    costs = preset.backtest_config().costs
    broker = get_broker(broker_name, costs.commission_bps, costs.slippage_bps)
except (EngineError, BrokerError) as e:
    st.error(f"Cannot use {broker_name} / {preset_name}: {e}")
    st.stop()

if broker_name == "paper" and paper_reset_panel(broker):
    for key in ("ops_signal", "ops_plan", "ops_report"):
        state.pop(key, None)
    st.rerun()

status = broker_status(broker)
status_panel(status)
if not status.get("connected"):
    st.stop()

# a plan belongs to one broker and preset: switching either clears what is shown
context = (broker_name, preset_name)
if state.get("ops_context") != context:
    for key in ("ops_signal", "ops_plan", "ops_report"):
        state.pop(key, None)
    state["ops_context"] = context

if st.button("Generate signals", type="primary", key="ops_generate", icon=":material/bolt:"):
    for key in ("ops_signal", "ops_plan", "ops_report"):
        state.pop(key, None)
    try:
        with st.spinner("Loading data, computing today's targets and the plan ..."):
            sig = generate_signals(preset)
    except EngineError as e:
        audit_signal_failure(preset.name, e, origin="app")
        st.error(f"Could not compute the signals: {e}")
    else:
        try:
            with st.spinner("Reading the account and making the plan ..."):
                state["ops_plan"] = plan_rebalance(sig, broker)  # errors are audited by plan_rebalance
            state["ops_signal"] = sig
        except (EngineError, BrokerError) as e:
            st.error(f"Could not make the plan: {e}")

signal, plan = state.get("ops_signal"), state.get("ops_plan")
tab_plan, tab_orders, tab_log, tab_quality = st.tabs(
    ["Signals and plan", "Orders and reconciliation", "Audit log", "Fill quality"]
)
with tab_plan:
    if signal is None or plan is None:
        st.info("Click **Generate signals** to compute today's targets and the rebalance plan.")
    else:
        st.subheader("Targets")
        st.caption(signal.summary())
        if signal.stale:
            st.warning(
                f"Stale data: the last bar is {signal.data_timestamp.date()}, the expected session is "
                f"{signal.expected_session.date()}. Refresh the data (Data page) before trading live."
            )
        for note in signal.notes:
            if not note.startswith("stale data"):
                st.caption(note)
        tables.show(
            signal.changes.set_index("symbol"),
            key="ops_targets",
            column_config={
                c: st.column_config.NumberColumn(format="percent") for c in ("previous", "target", "change")
            },
        )
        st.subheader("Plan")
        st.caption(plan.summary())
        tables.show(
            plan.lines().set_index("symbol"),
            key="ops_lines",
            column_config={
                "target_weight": st.column_config.NumberColumn(format="percent"),
                "notional": st.column_config.NumberColumn(format="%.2f"),
            },
        )
        st.markdown("**Risk checks**")
        tables.show(checks_display(plan.checks_frame()), key="ops_checks")
        for c in plan.checks:
            if c.name == "market_hours" and c.status == "warn":
                st.warning(f"Market closed: {c.message}.")
        if not plan.approved:
            st.error("Blocked: " + "; ".join(f"{c.name}: {c.message}" for c in plan.failed_checks))
        elif not plan.orders:
            st.success("Nothing to do: the account already holds the targets.")
        else:
            execute_panel(plan, broker, plan_outcome(plan.plan_id), status.get("currency") or "USD")

with tab_orders:
    report = state.get("ops_report")
    outcome = plan_outcome(plan.plan_id) if plan is not None and report is None else None
    if outcome is not None:  # executed in another session (or before a reload): the audit log's record of it
        st.info(outcome.text())
        tables.show(orders_display(outcome.orders), key="ops_results")
    elif report is None:
        st.info("No execution in this session yet: results appear here after **Execute**.")
    else:
        kind, text = report_banner(report)
        getattr(st, kind)(text)
        for err in report.errors:
            st.error(err)
        tables.show(
            orders_display(report.orders_frame()),
            key="ops_results",
            column_config={"slippage_bps": st.column_config.NumberColumn(format="%.1f")},
        )
        st.markdown("**Reconciliation** (target vs actual units after execution)")
        tables.show(report.reconciliation.set_index("symbol"), key="ops_recon")

with tab_log:
    limit = st.number_input("Events", 10, 5000, 200, 50, key="ops_log_limit")
    events = audit_events(int(limit))
    if events.empty:
        st.info("The audit log is empty.")
    else:
        tables.show(events.drop(columns=["payload"]).set_index("id"), key="ops_audit")

with tab_quality:
    results = AuditLog().order_results()
    st.caption(
        "Each fill vs the price the plan was sized with (the latest price at planning time) and vs the "
        "open of the session it filled in (what the backtest assumes: the next open, known once that "
        "session's bar is in the data); positive = worse (paid more on a buy, received less on a sell)."
    )
    quality = slippage_vs_open(results, session_opens(sorted(set(results["symbol"])), preset.data_source))
    st.plotly_chart(slippage_figure(quality), key="ops_slippage")
    c1, c2 = st.columns(2)
    vs_plan, vs_open = quality["slippage_bps"].dropna(), quality["slippage_open_bps"].dropna()
    if len(vs_plan):
        c1.metric("Average vs plan price", f"{vs_plan.mean():+.1f} bps", help=f"{len(vs_plan)} fill(s)")
    if len(vs_open):
        c2.metric("Average vs session open", f"{vs_open.mean():+.1f} bps", help=f"{len(vs_open)} fill(s)")
    pending = int(quality["slippage_open_bps"].isna().sum())
    if pending:
        st.caption(f"{pending} fill(s) wait for their session's bar (refresh the data) to be compared with its open.")

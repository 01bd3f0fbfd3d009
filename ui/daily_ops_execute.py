"""The Daily Ops page's Execute row: the confirmation, the Execute button and beside it what it will send ("3 orders,
$99,830, paper account X") or, once the plan ran, how it ended, with the button disabled.

Whether the plan ran comes from the audit log (engine.ops.plan_summary.plan_outcome), not from the session, so
the button stays off after a rerun, a reload or in another tab: executing a completed plan again would send
nothing anyway (brokers.execution: "already executed").
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from brokers.base import BrokerError
from brokers.execution import execute_plan
from engine.errors import EngineError
from engine.ops.plan_summary import PlanOutcome, plan_summary
from engine.ops.rebalance import RebalancePlan
from ui.daily_ops_view import report_banner


def execute_panel(plan: RebalancePlan, broker: Any, outcome: PlanOutcome | None, currency: str) -> None:
    """Draw the Execute row of an approved plan with orders; execute it (and rerun) when clicked."""
    state = st.session_state
    executed = outcome is not None and outcome.executed
    if outcome is not None and not executed:
        st.warning(
            f"An execution of plan {plan.plan_id} ended {outcome.status.upper()}: Execute resumes it (its orders are "
            "looked up at the broker by client order id; only the missing ones are sent)."
        )
    typed: str | None = None
    confirmed = False
    if not executed:
        if plan.is_live:
            typed = st.text_input(
                f"LIVE account: type the account id ({plan.account_id}) to confirm", key="ops_confirm_live"
            )
            confirmed = typed.strip() == plan.account_id
        else:
            confirmed = st.checkbox(
                f"Send {len(plan.orders)} order(s) to the {plan.broker} account {plan.account_id}", key="ops_confirm"
            )
    run, what = st.columns([1, 5], vertical_alignment="center")
    clicked = run.button(
        "Execute",
        type="primary",
        disabled=executed or not confirmed,
        key="ops_execute",
        icon=":material/send:",
        help="Executed: the plan's orders were sent and completed." if executed else None,
    )
    with what:
        report = state.get("ops_report")
        if executed and report is not None and report.plan_id == plan.plan_id:
            kind, text = report_banner(report)
            getattr(st, kind)(text)
        elif executed and outcome is not None:
            st.success(outcome.text())
        else:
            st.markdown(f"Sends **{plan_summary(plan, currency).text()}**")
    if clicked:
        try:
            with st.spinner("Sending orders and waiting for fills ..."):
                state["ops_report"] = execute_plan(plan, broker, confirm=typed, timeout=20.0)
        except (EngineError, BrokerError) as e:
            st.error(f"Execution refused: {e}")
        else:
            st.rerun()  # refresh the account panel and this row; the report stays in session state

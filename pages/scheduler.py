"""Scheduler: write or build a YAML batch, queue it, watch its jobs live, open results (DESIGN §7); schedule a
preset's daily operations (signals -> plan -> checks -> execute or ask for approval) at a time of day.

Jobs live in the workspace's SQLite queue, so the status survives a browser reload or an app restart; any
`ivybt worker` process (or the background worker started here) runs them, and queues the due schedules.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import available_timezones

import streamlit as st

from engine.batch import validate_text
from engine.batch.queue import JobQueue
from engine.errors import EngineError
from engine.metrics import METRIC_NAMES
from engine.ops.schedule import DAYS, MODES, ScheduleStore
from engine.ops.signals import MARKET_TZ
from engine.store.presets import list_presets
from engine.store.workspace import workspace_dir
from engine.strategies.registry import list_strategies
from ui import scheduler_view as view
from ui import tables
from ui.scheduler_queue import batch_panel, schedules_panel
from ui.shell import ensure_navigation

ensure_navigation()
st.title("Scheduler")
queue = JobQueue()
if "sched_yaml" not in st.session_state:
    st.session_state["sched_yaml"] = view.EXAMPLE_YAML


def _use_form() -> None:
    s = st.session_state
    s["sched_yaml"] = view.form_yaml(
        s["sched_f_name"],
        s["sched_f_strategies"],
        s["sched_f_symbols"],
        s["sched_f_start"],
        s["sched_f_end"],
        s["sched_f_commission"],
        s["sched_f_slippage"],
        s["sched_f_objective"],
    )


def _use_upload() -> None:
    upload = st.session_state.get("sched_upload")
    if upload is not None:
        st.session_state["sched_yaml"] = upload.getvalue().decode("utf-8", errors="replace")


new_tab, queue_tab, ops_tab = st.tabs(["New batch", "Queue", "Daily operations"])
with new_tab:
    with st.expander("Build a simple batch (strategies x symbol sets)"):
        with st.form("sched_form"):
            st.text_input("Batch name", value="my-batch", key="sched_f_name")
            st.multiselect(
                "Strategies (default parameters)",
                list(list_strategies()),
                default=["sma_cross"],
                key="sched_f_strategies",
            )
            st.text_area("Symbol sets, one per line", value="SPY\nQQQ, IWM", key="sched_f_symbols")
            c1, c2 = st.columns(2)
            c1.date_input("Start", value=None, key="sched_f_start")
            c2.date_input("End", value=None, key="sched_f_end")
            c3, c4, c5 = st.columns(3)
            c3.number_input("Commission (bps)", 0.0, 1000.0, 2.0, key="sched_f_commission")
            c4.number_input("Slippage (bps)", 0.0, 1000.0, 1.0, key="sched_f_slippage")
            c5.selectbox(
                "Rank jobs by", list(METRIC_NAMES), index=list(METRIC_NAMES).index("sharpe"), key="sched_f_objective"
            )
            st.form_submit_button("Write YAML", on_click=_use_form)
    st.file_uploader("Or upload a batch file", type=["yaml", "yml"], key="sched_upload", on_change=_use_upload)
    text = st.text_area("Batch YAML", key="sched_yaml", height=340)
    batch, issues = validate_text(text, "editor")
    if issues:
        st.error(
            "The batch is not valid:\n\n" + "\n".join(f"- line {i.line}, `{i.field}`: {i.message}" for i in issues)
        )
    else:
        st.success(f"Valid batch **{batch.name}**: {len(batch.jobs)} job(s).")
        tables.show(
            [
                {
                    "job": j.name,
                    "kind": j.kind,
                    "strategy": j.request.strategy,
                    "symbols": ", ".join(j.request.symbols),
                    "start": j.request.start,
                    "end": j.request.end,
                }
                for j in batch.jobs
            ],
            hide_index=True,
            key="sched_preview",
        )
    if st.button("Queue batch", type="primary", disabled=batch is None, key="sched_queue"):
        batch_id = queue.submit(batch)
        st.session_state["sched_batch"] = st.session_state["sched_pick"] = batch_id
        st.success(f"Queued batch {batch_id} ({len(batch.jobs)} jobs). Workers pick it up from the queue.")

with ops_tab:
    st.caption(
        f"A preset's signals -> plan -> checks, then execute (mode auto, paper accounts) or an alert to approve it "
        f"on Daily Ops (mode approve), on {DAYS}. Any running `ivybt worker` runs them (or `ivybt schedule run-due` "
        "from cron); a run missed while no worker was up runs once when one comes back the same trading day, "
        "never for a past day."
    )
    schedules_panel(queue)
    store = ScheduleStore()
    schedules = store.list()
    by_id = {sc.id: sc for sc in schedules}
    pick = st.selectbox(
        "Schedule",
        [None, *by_id],
        format_func=lambda i: "New schedule" if i is None else f"#{i} {by_id[i].preset} on {by_id[i].broker}",
        key="sched_ops_pick",
    )
    current = by_id.get(pick)
    presets, zones = list_presets(), sorted(available_timezones())
    if not presets:
        st.info("Save a preset first (on the Backtest page): a schedule runs a preset.")
    k = f"sched_ops_{pick}"  # one set of widgets per schedule, so each form starts from that schedule's values
    with st.form("sched_ops_form"):
        c1, c2 = st.columns(2)
        preset = c1.selectbox(
            "Preset",
            presets,
            index=presets.index(current.preset) if current and current.preset in presets else 0,
            key=f"{k}_preset",
        )
        broker = c2.selectbox(
            "Broker",
            view.SCHEDULE_BROKERS,
            index=view.SCHEDULE_BROKERS.index(current.broker) if current else 0,
            key=f"{k}_broker",
        )
        c3, c4, c5 = st.columns(3)
        at = c3.time_input(
            "Time of day", value=time.fromisoformat(current.at) if current else time(9, 35), key=f"{k}_at"
        )
        tz = c4.selectbox("Time zone", zones, index=zones.index(current.tz if current else MARKET_TZ), key=f"{k}_tz")
        mode = c5.radio(
            "Mode",
            MODES,
            index=MODES.index(current.mode) if current else 0,
            format_func=view.MODE_LABELS.get,
            key=f"{k}_mode",
        )
        saved = st.form_submit_button(
            "Add schedule" if current is None else f"Save schedule #{pick}", disabled=not presets
        )
    if saved:
        try:
            done = view.save_schedule(preset, broker, at, tz, mode, pick)
        except EngineError as e:
            st.error(str(e))
        else:
            st.session_state["sched_ops_note"] = f"Schedule #{done.id} saved: {done.preset} at {done.at} {done.tz}."
            st.rerun()
    if current is not None:
        b1, b2 = st.columns(2)
        if b1.button("Disable" if current.enabled else "Enable", key="sched_ops_toggle"):
            store.edit(current.id, enabled=not current.enabled)
            st.rerun()
        if b2.button(f"Remove schedule #{current.id}", key="sched_ops_remove"):
            store.remove(current.id)
            st.session_state.pop("sched_ops_pick", None)
            st.rerun()
    if "sched_ops_note" in st.session_state:
        st.success(st.session_state.pop("sched_ops_note"))

with queue_tab:
    batches = queue.batches()
    if batches.empty:
        st.info("No batches yet: write one in the New batch tab and queue it.")
        st.stop()
    names = {b.id: f"{b.name} · {b.id} · {b.submitted} UTC · {b.n_jobs} jobs" for b in batches.itertuples()}
    ids = list(names)
    current = st.session_state.get("sched_batch")
    batch_id = st.selectbox(
        "Batch", ids, index=ids.index(current) if current in ids else 0, format_func=names.get, key="sched_pick"
    )
    c1, c2 = st.columns([1, 3])
    if c1.button(
        "Start a background worker",
        key="sched_start_worker",
        help="Runs `ivybt worker --exit-when-empty` in its own process; it stops when the queue is empty.",
    ):
        pid = view.start_background_worker(workspace_dir())
        st.toast(f"Worker started (pid {pid}).")
    c2.caption("Or run `ivybt worker` in a terminal (several at once to use more cores).")

    batch_panel(queue, batch_id)

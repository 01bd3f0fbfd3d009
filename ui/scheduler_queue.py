"""The Scheduler page's parts that depend on the jobs' state, each in a fragment that reruns itself every
`POLL_EVERY` while a job is queued or running, so a finished job shows up everywhere without a click; once none
is, it reruns the app once and stops polling.

`batch_panel`: the Queue tab below the batch picker (counts, the job table, the cancel / retry / open-result
controls, the errors, the batch summary and its charts), polling while a job of that batch is unfinished.
`schedules_panel`: the Daily operations tab's schedules table (a daily-ops job writes its schedule's last run,
status and message), polling while any job of the queue is unfinished.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from engine.batch.queue import JobQueue
from engine.errors import EngineError
from engine.metrics import registry
from engine.ops.schedule import ScheduleStore
from ui import scheduler_view as view
from ui import tables
from ui.state import run_store, set_current_run


def batch_panel(queue: JobQueue, batch_id: str) -> None:
    """Draw the batch's live state; polls (st.fragment run_every) only while one of its jobs is unfinished."""
    every = view.poll_interval(queue.jobs(batch_id))

    @st.fragment(run_every=every)
    def live() -> None:
        jobs = queue.jobs(batch_id)
        if view.poll_interval(jobs) != every:  # the last job ended (or one was queued elsewhere): poll or stop
            st.rerun()
        _jobs(queue, batch_id, jobs)
        _actions(queue, batch_id, jobs)
        _summary(queue, batch_id, jobs)

    live()


def schedules_panel(queue: JobQueue) -> None:
    """The table of daily-operations schedules (or a hint when there is none), refreshed while jobs run."""
    every = view.queue_poll_interval(queue.counts())

    @st.fragment(run_every=every)
    def live() -> None:
        if view.queue_poll_interval(queue.counts()) != every:
            st.rerun()
        schedules = ScheduleStore().list()
        if schedules:
            tables.show(view.schedules_table(schedules, datetime.now(UTC)), hide_index=True, key="sched_ops_table")
        else:
            st.info("No schedules yet: add one below.")

    live()


def _jobs(queue: JobQueue, batch_id: str, jobs: pd.DataFrame) -> None:
    counts = queue.counts(batch_id)
    cols = st.columns(5)
    for col, status in zip(cols, ("queued", "running", "done", "failed", "cancelled")):
        col.metric(status.capitalize(), counts[status])
    tables.show(
        view.jobs_table(jobs),
        hide_index=True,
        key="sched_jobs",
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=100, format="%.0f%%"),
            "duration": st.column_config.NumberColumn("duration (s)", format="%.1f"),
            "objective": st.column_config.NumberColumn(format="%.4f"),
        },
    )


def _actions(queue: JobQueue, batch_id: str, jobs: pd.DataFrame) -> None:
    a1, a2, a3 = st.columns(3)
    open_ids = view.unfinished(jobs)
    with a1:
        victim = st.selectbox(
            "Job to cancel", open_ids, format_func=view.labels(jobs, open_ids).get, key="sched_cancel_pick", index=None
        )
        if st.button("Cancel job", disabled=victim is None, key="sched_cancel"):
            queue.cancel(victim)
            st.rerun()
        if st.button("Cancel the whole batch", disabled=not open_ids, key="sched_cancel_batch"):
            queue.cancel_batch(batch_id)
            st.rerun()
    with a2:
        failed = int((jobs["status"] == "failed").sum())
        if st.button(f"Retry failed jobs ({failed})", disabled=failed == 0, key="sched_retry"):
            queue.retry_failed(batch_id)
            st.rerun()
    done = view.done_with_run(jobs)
    with a3:
        pick = st.selectbox(
            "Open the result of",
            list(done["run_id"]),
            index=None,
            key="sched_open_pick",
            format_func=dict(zip(done["run_id"], done["name"])).get,
        )
        if st.button("Open result", disabled=pick is None, key="sched_open"):
            set_current_run(pick)
            st.switch_page("pages/backtest.py")
    for job in jobs[jobs["status"] == "failed"].itertuples():
        with st.expander(f"Error of {job.name}: {job.error}"):
            st.code(job.traceback or job.error, language="text")


def _summary(queue: JobQueue, batch_id: str, jobs: pd.DataFrame) -> None:
    st.subheader("Batch summary")
    table = view.summary_table(jobs, queue.summaries(batch_id))
    if table.empty:
        st.info("No finished job yet.")
        return
    best = view.best_job(jobs)
    if best is not None:
        better = "higher" if bool(best.get("maximize", 1)) else "lower"
        st.success(
            f"Best job: **{best['name']}** with {best['objective_name']} = {best['objective']:.4f} "
            f"({better} is better; run {best['run_id']})."
        )
    tables.show(
        table,
        key="sched_summary",
        column_config={
            c: st.column_config.NumberColumn(format="percent") for c in registry.percent_keys(table.columns)
        },
    )
    st.plotly_chart(view.objective_figure(table), key="sched_objective_chart")
    store = run_store()
    curves = {}
    for job in view.done_with_run(jobs).itertuples():
        try:
            curves[job.name] = store.load(job.run_id).result.equity
        except EngineError as e:  # the run was deleted from the Runs page meanwhile
            st.caption(f"{job.name}: {e}")
    if curves:
        st.plotly_chart(view.equity_comparison(curves), key="sched_equity_chart")

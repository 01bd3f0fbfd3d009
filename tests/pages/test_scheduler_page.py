"""Scheduler page: validation feedback, the form writes a batch, queueing shows live statuses that turn to done
when a worker runs the jobs, failures show their error, results open in the Backtest page."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.batch.queue import JobQueue
from engine.batch.worker import run_worker
from engine.store.runs import RunStore
from tests.engine.batch_helpers import make_workspace
from tests.pages.page_helpers import assert_clean, page

BATCH = """\
name: page-batch
defaults: {start: 2018-01-01, end: 2021-12-31}
jobs:
  - {name: spy-sma, strategy: sma_cross, symbols: [SPY], params: {fast: 10, slow: 50}}
  - {name: gld-hold, strategy: buy_and_hold, symbols: [GLD]}
  - {name: broken, strategy: explodes, symbols: [SPY]}
"""


def _statuses(at) -> dict[str, str]:
    table = next(df.value for df in at.dataframe if "status" in df.value.columns)
    return dict(zip(table["name"], table["status"]))


def test_invalid_yaml_shows_line_and_field(workspace: Path) -> None:
    at = page("scheduler")
    at.run()
    assert_clean(at)
    assert "Valid batch" in at.success[0].value  # the example batch is valid
    at.text_area(key="sched_yaml").set_value(
        "jobs:\n  - strategy: sma_cross\n    symbols: [SPY]\n    params: {fast: 80, slow: 20}\n"
    ).run()
    assert len(at.error) == 1
    assert "line 4, `jobs[0].params`" in at.error[0].value and "fast" in at.error[0].value
    assert at.button(key="sched_queue").disabled


def test_form_writes_a_valid_matrix_batch(workspace: Path) -> None:
    at = page("scheduler")
    at.run()
    at.text_input(key="sched_f_name").set_value("from-form")
    at.multiselect(key="sched_f_strategies").set_value(["sma_cross", "ema_cross"])
    at.text_area(key="sched_f_symbols").set_value("SPY\nGLD TLT")
    at.button(key="FormSubmitter:sched_form-Write YAML").click().run()
    assert_clean(at)
    text = at.text_area(key="sched_yaml").value
    assert "from-form" in text and "ema_cross" in text
    assert "Valid batch **from-form**: 4 job(s)" in at.success[0].value
    preview = next(df.value for df in at.dataframe if "job" in df.value.columns)
    assert list(preview["strategy"]) == ["sma_cross", "sma_cross", "ema_cross", "ema_cross"]
    assert list(preview["symbols"]) == ["SPY", "GLD, TLT", "SPY", "GLD, TLT"]


def test_queue_a_batch_and_watch_it_finish(workspace: Path) -> None:
    make_workspace(workspace)
    at = page("scheduler")
    at.run()
    at.text_area(key="sched_yaml").set_value(BATCH).run()
    at.button(key="sched_queue").click().run()
    assert_clean(at)
    assert any("Queued batch" in s.value for s in at.success)
    assert set(_statuses(at).values()) == {"queued"}
    queue = JobQueue()
    batch_id = queue.batches()["id"].iloc[0]
    # a worker (in-process) runs the queued jobs; the page reads the new states from SQLite
    assert run_worker(queue=queue, exit_when_empty=True, heartbeat=0.2) == 3
    at.run()
    statuses = _statuses(at)
    assert statuses == {"spy-sma": "done", "gld-hold": "done", "broken": "failed"}
    assert any("boom: this strategy always fails" in e.label for e in at.expander)
    jobs = queue.jobs(batch_id).set_index("name")
    store = RunStore()
    best_name = max(("spy-sma", "gld-hold"), key=lambda n: store.load(jobs.loc[n, "run_id"]).result.metrics["sharpe"])
    assert f"Best job: **{best_name}**" in " ".join(s.value for s in at.success)
    summary = next(df.value for df in at.dataframe if df.value.index.name == "job")
    for name in ("spy-sma", "gld-hold"):
        sharpe = store.load(jobs.loc[name, "run_id"]).result.metrics["sharpe"]
        assert summary.loc[name, "sharpe"] == pytest.approx(sharpe, rel=1e-12)
    # retry the failed job: it is queued again
    at.button(key="sched_retry").click().run()
    assert _statuses(at)["broken"] == "queued"
    # open a result: the Backtest page shows that run
    at.selectbox(key="sched_open_pick").set_value(jobs.loc["spy-sma", "run_id"]).run()
    at.button(key="sched_open").click().run()
    assert at.session_state["current_run_id"] == jobs.loc["spy-sma", "run_id"]


def test_cancel_a_queued_job(workspace: Path) -> None:
    make_workspace(workspace)
    at = page("scheduler")
    at.run()
    at.text_area(key="sched_yaml").set_value(BATCH).run()
    at.button(key="sched_queue").click().run()
    job_id = JobQueue().jobs()["id"].iloc[1]
    at.selectbox(key="sched_cancel_pick").set_value(job_id).run()
    at.button(key="sched_cancel").click().run()
    assert _statuses(at)["gld-hold"] == "cancelled"
    assert JobQueue().get(job_id)["status"] == "cancelled"


DIRECTIONS = """\
name: directions
defaults: {start: 2018-01-01, end: 2021-12-31}
jobs:
  - {name: vol-spy, strategy: buy_and_hold, symbols: [SPY], objective: annual_volatility}
  - {name: vol-tlt, strategy: buy_and_hold, symbols: [TLT], objective: annual_volatility}
  - {name: vol-qqq, strategy: buy_and_hold, symbols: [QQQ], objective: annual_volatility}
  - {name: worst-sharpe-gld, strategy: buy_and_hold, symbols: [GLD], maximize: false}
  - {name: worst-sharpe-iwm, strategy: buy_and_hold, symbols: [IWM], maximize: false}
"""


def test_the_summary_ranks_each_job_in_its_own_direction(workspace: Path) -> None:
    from engine.batch import Batch, parse_batch
    from ui import scheduler_view as view

    make_workspace(workspace)
    queue = JobQueue()
    full = parse_batch(DIRECTIONS, "directions.yaml")
    vol_id = queue.submit(Batch(name="vol", jobs=full.jobs[:3]))
    sharpe_id = queue.submit(Batch(name="sharpe", jobs=full.jobs[3:]))
    assert run_worker(queue=queue, exit_when_empty=True, heartbeat=0.2) == 5
    store = RunStore()
    for batch_id, metric in ((vol_id, "annual_volatility"), (sharpe_id, "sharpe")):
        jobs = queue.jobs(batch_id)
        values = {r.name: store.load(r.run_id).result.metrics[metric] for r in jobs.itertuples()}
        assert len(set(values.values())) == len(values)  # distinct values: the ranking is decided
        ascending = sorted(values, key=values.get)  # lower is better for both batches
        assert view.best_job(jobs)["name"] == ascending[0]
        table = view.summary_table(jobs, queue.summaries(batch_id))
        assert list(table.index) == ascending and set(table["better"]) == {"lower"}
        assert list(table["value"]) == [values[n] for n in ascending]
    at = page("scheduler")
    at.run()  # the newest batch (sharpe, maximize: false) is shown
    assert_clean(at)
    worst = min(
        ("worst-sharpe-gld", "worst-sharpe-iwm"),
        key=lambda n: store.load(queue.jobs(sharpe_id).set_index("name").loc[n, "run_id"]).result.metrics["sharpe"],
    )
    best_line = next(s.value for s in at.success if s.value.startswith("Best job"))
    assert best_line.startswith(f"Best job: **{worst}** with sharpe = ") and "(lower is better;" in best_line


# --- daily operations ----------------------------------------------------------------------------------------


def _schedules(at):
    return next(df.value for df in at.dataframe if "next run" in df.value.columns).set_index("id")


def test_the_daily_operations_tab_shows_adds_edits_and_removes_schedules(workspace: Path) -> None:
    from datetime import time

    from engine.ops.schedule import ScheduleStore
    from engine.store.presets import Preset, save_preset

    save_preset(Preset(name="hold", strategy="buy_and_hold", symbols=("SPY",)))
    first = ScheduleStore().add("hold", "paper", "09:35", "America/New_York", mode="auto")
    at = page("scheduler")
    at.run()
    assert_clean(at)
    table = _schedules(at)
    assert table.loc[first.id, ["preset", "broker", "time", "mode"]].tolist() == [
        "hold",
        "paper",
        "09:35 America/New_York",
        "auto",
    ]
    assert table.loc[first.id, "next run"] == "due now" or table.loc[first.id, "next run"].endswith(("EST", "EDT"))

    # add one through the form
    at.selectbox(key="sched_ops_None_broker").set_value("alpaca")
    at.time_input(key="sched_ops_None_at").set_value(time(15, 50))
    at.selectbox(key="sched_ops_None_tz").set_value("Europe/London")
    at.button(key="FormSubmitter:sched_ops_form-Add schedule").click().run()
    assert_clean(at)
    added = ScheduleStore().list()[-1]
    assert (added.preset, added.broker, added.at, added.tz, added.mode) == (
        "hold",
        "alpaca",
        "15:50",
        "Europe/London",
        "approve",
    )
    assert _schedules(at).loc[added.id, "time"] == "15:50 Europe/London"

    # edit the first: the form starts from its values; switch it to approve, then disable and remove it
    at.selectbox(key="sched_ops_pick").set_value(first.id).run()
    assert at.time_input(key=f"sched_ops_{first.id}_at").value == time(9, 35)
    at.radio(key=f"sched_ops_{first.id}_mode").set_value("approve")
    at.button(key=f"FormSubmitter:sched_ops_form-Save schedule #{first.id}").click().run()
    assert_clean(at)
    assert ScheduleStore().get(first.id).mode == "approve"
    at.button(key="sched_ops_toggle").click().run()
    assert not ScheduleStore().get(first.id).enabled
    assert _schedules(at).loc[first.id, "next run"] == "disabled"
    at.button(key="sched_ops_remove").click().run()
    assert_clean(at)
    assert [s.id for s in ScheduleStore().list()] == [added.id]


def test_a_daily_ops_run_shows_its_status_and_its_job_in_the_queue(workspace: Path) -> None:
    from datetime import UTC, datetime

    from engine.ops.schedule import ScheduleStore
    from engine.store.presets import Preset, save_preset

    save_preset(Preset(name="hold", strategy="buy_and_hold", symbols=("SPY",)))
    sched = ScheduleStore().add("hold", "paper", "09:35", "America/New_York")
    now = datetime(2024, 3, 13, 14, 0, tzinfo=UTC)
    assert run_worker(queue=JobQueue(), exit_when_empty=True, clock=lambda: now) == 1
    at = page("scheduler")
    at.run()
    assert_clean(at)
    row = _schedules(at).loc[sched.id]
    assert (row["last run"], row["last status"]) == ("2024-03-13", "approval needed")
    assert "waits on Daily Ops" in row["message"]
    assert _statuses(at) == {"daily ops #1 hold on paper 2024-03-13": "done"}  # the batch part still works

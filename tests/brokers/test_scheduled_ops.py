"""Scheduled daily operations end to end: the real job queue, worker loop, audit log, in-app notifications and
PaperBroker in a temporary workspace. Target positions are worked out from the preset (buy and hold of two
symbols: half the equity each) and the bundled sample's last closes, not from the signal."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from brokers.planning import plan_rebalance
from brokers.scheduled_ops import enqueue_due, run_job
from engine.alerts import Inbox
from engine.batch.kinds import JobRun, job_kind
from engine.batch.queue import JobQueue
from engine.batch.worker import run_worker
from engine.ops.audit_log import AuditLog
from engine.ops.plan_record import plan_from_dict
from engine.ops.risk import set_kill_switch
from engine.ops.schedule import ScheduleStore
from engine.ops.signals import generate_signals
from engine.store.presets import Preset, load_preset, save_preset
from tests.brokers.schedule_helpers import expected_positions, paper, save_hold_preset

NOW = datetime(2024, 3, 13, 14, 0, tzinfo=UTC)  # Wednesday 10:00 in New York (EDT)


@pytest.fixture
def schedules(presets):
    save_hold_preset()
    save_preset(Preset(name="ghost", strategy="buy_and_hold", symbols=("ZZZZ",)))
    return ScheduleStore()


def notifications(event: str) -> list:
    return [n for n in Inbox().list(limit=500) if n.event == event]


def test_the_entry_point_provides_the_daily_ops_kind() -> None:
    kind = job_kind("daily_ops")
    assert kind is not None and kind.poll is enqueue_due and kind.run is run_job
    assert kind.options["broker"] == ("paper", "alpaca", "ibkr")


def test_auto_executes_once_on_paper_and_a_second_poll_the_same_day_does_nothing(schedules) -> None:
    s = schedules.add("hold2", "paper", "09:35", "America/New_York", mode="auto")
    queue = JobQueue()
    assert run_worker(queue=queue, exit_when_empty=True, heartbeat=0.2, clock=lambda: NOW) == 1
    broker = paper()
    held = {p.symbol: p.quantity for p in broker.positions()}
    assert held == pytest.approx(expected_positions(), abs=2e-6)
    assert len(broker.orders("all")) == 2
    after = schedules.get(s.id)
    assert (after.last_run_date, after.last_status) == (date(2024, 3, 13), "executed")
    (job,) = queue.jobs().itertuples()
    assert (job.kind, job.status, job.attempts, job.strategy, job.symbols) == (
        "daily_ops",
        "done",
        1,
        "buy_and_hold",
        "SPY,QQQ",
    )
    assert queue.get(job.id)["summary"]["sent"] == 2

    # the same day again, through a poll and a whole worker loop: nothing queued, nothing sent
    assert enqueue_due(queue, NOW.replace(hour=19)) == []
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: NOW.replace(hour=19)) == 0
    assert len(queue.jobs()) == 1 and len(paper().orders("all")) == 2
    # the next morning before 09:35 nothing either; at 09:35 the next day's run finds the same signal (the
    # sample has no newer bar): its plan was executed, so nothing is sent and nothing is alerted
    assert enqueue_due(queue, datetime(2024, 3, 14, 13, 30, tzinfo=UTC)) == []
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: datetime(2024, 3, 14, 13, 35, tzinfo=UTC)) == 1
    after = schedules.get(s.id)
    assert (after.last_run_date, after.last_status) == (date(2024, 3, 14), "no new signal")
    assert len(paper().orders("all")) == 2 and notifications("scheduled_run_blocked") == []
    assert {p.symbol: p.quantity for p in paper().positions()} == pytest.approx(expected_positions(), abs=2e-6)


def test_approve_mode_sends_nothing_and_leaves_the_plan_for_daily_ops(schedules) -> None:
    s = schedules.add("hold2", "paper", "09:35", "America/New_York")
    queue = JobQueue()
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: NOW) == 1
    assert paper().orders("all") == [] and paper().positions() == []
    assert schedules.get(s.id).last_status == "approval needed"
    (note,) = notifications("approval_needed")
    assert note.level == "warning" and "hold2 on paper" in note.title
    plan_id = queue.get(queue.jobs()["id"].iloc[0])["summary"]["plan_id"]
    assert plan_id in note.text and "buy" in note.text and "SPY" in note.text and "QQQ" in note.text
    assert AuditLog().plan(plan_id)["status"] == "planned"
    # what the Daily Ops page does (signals, then the plan on the same account): the same plan comes back
    again = plan_rebalance(generate_signals(load_preset("hold2")), paper())
    assert again.plan_id == plan_id and again.approved and len(again.orders) == 2


def test_kill_switch_on_sends_nothing_and_alerts(schedules) -> None:
    s = schedules.add("hold2", "paper", "09:35", "America/New_York", mode="auto")
    set_kill_switch(True, "test: hands off")
    queue = JobQueue()
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: NOW) == 1
    assert paper().orders("all") == []
    after = schedules.get(s.id)
    assert after.last_status == "blocked" and "kill_switch" in after.last_message
    (note,) = notifications("scheduled_run_blocked")
    assert note.level == "error" and "hands off" in note.text


def test_a_failing_run_fails_its_job_marks_the_day_and_alerts(schedules) -> None:
    s = schedules.add("ghost", "paper", "09:35", "America/New_York", mode="auto")
    queue = JobQueue()
    run_worker(queue=queue, exit_when_empty=True, clock=lambda: NOW)
    (job,) = queue.jobs().itertuples()
    assert job.status == "failed" and f"scheduled run #{s.id} (ghost on paper, 2024-03-13)" in job.error
    assert "ZZZZ" in job.error
    after = schedules.get(s.id)
    assert after.last_status == "failed" and "ZZZZ" in after.last_message
    assert any(f"scheduled run #{s.id}" in n.text for n in notifications("batch_job_failed"))
    assert paper().orders("all") == []


def test_a_retry_after_the_orders_went_out_reuses_the_plan_and_sends_nothing(schedules) -> None:
    """The worker died after executing, before marking the job done: the stale job is claimed again and its
    stored plan executed again, every order already known to the broker."""
    s = schedules.add("hold2", "paper", "09:35", "America/New_York", mode="auto")
    queue = JobQueue(stale_after=0.5)
    (job_id,) = enqueue_due(queue, NOW)
    first = queue.claim("dead-worker")
    summary = run_job(JobRun(queue, first, "dead-worker", lambda f, m=None: None))  # never marked done
    assert summary["sent"] == 2 and queue.get(job_id)["status"] == "running"
    positions = {p.symbol: p.quantity for p in paper().positions()}

    # the dead worker's heartbeat goes stale; the next worker takes the job over as attempt 2
    time.sleep(0.6)
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: NOW) == 1
    row = queue.get(job_id)
    assert (row["status"], row["attempts"]) == ("done", 2)
    assert row["summary"]["plan_id"] == summary["plan_id"] and row["summary"]["sent"] == 0
    assert len(paper().orders("all")) == 2
    assert {p.symbol: p.quantity for p in paper().positions()} == positions
    assert schedules.get(s.id).last_status == "executed"


def test_a_plan_survives_the_audit_log_round_trip(schedules) -> None:
    plan = plan_rebalance(generate_signals(load_preset("hold2")), paper())
    assert plan_from_dict(plan.to_dict()) == plan
    assert plan_from_dict(AuditLog().plan(plan.plan_id)["payload"]) == plan


def test_a_schedule_disabled_after_queueing_is_skipped(schedules) -> None:
    s = schedules.add("hold2", "paper", "09:35", "America/New_York", mode="auto")
    queue = JobQueue()
    assert len(enqueue_due(queue, NOW)) == 1
    schedules.edit(s.id, enabled=False)
    assert run_worker(queue=queue, exit_when_empty=True, clock=lambda: NOW) == 1
    assert schedules.get(s.id).last_status == "skipped" and paper().orders("all") == []

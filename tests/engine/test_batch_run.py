"""Running batches: results in the run store equal direct backtests, failures keep error and traceback while
the rest completes, artifacts are written, a retry after a crash reuses a saved run instead of a second one."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from engine.batch import parse_batch
from engine.batch.jobs import compute_job, find_job_run, record_job, run_name
from engine.batch.queue import JobQueue
from engine.batch.runners import LocalRunner, run_batch
from engine.batch.worker import run_worker
from engine.data import load_market_data
from engine.store.runs import RunStore
from tests.engine.batch_helpers import make_workspace

BATCH = """
name: mixed
defaults: {start: 2016-01-01, end: 2020-12-31}
jobs:
  - {name: hold-spy, strategy: buy_and_hold, symbols: [SPY], artifacts: true}
  - {name: will-fail, strategy: explodes, symbols: [SPY]}
  - {name: sma, strategy: sma_cross, symbols: [QQQ], params: {fast: 10, slow: 40},
     config: {costs: {commission_bps: 5}}}
  - {name: mc, kind: montecarlo, strategy: sma_cross, symbols: [SPY], montecarlo: {n_sims: 200, seed: 3}}
  - name: opt
    kind: optimize
    strategy: sma_cross
    symbols: [GLD]
    optimize: {ranges: {fast: [5, 10, 20], slow: [50, 100]}, objective: sharpe}
"""


@pytest.fixture
def home(home: Path) -> Path:
    return make_workspace(home)


def _runs_per_job(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM runs")]
    out: dict[str, int] = {}
    for n in names:
        job = n.rsplit("[job ", 1)[1].rstrip("]")
        out[job] = out.get(job, 0) + 1
    return out


def _check_mixed_batch(queue: JobQueue, batch_id: str) -> dict[str, dict]:
    jobs = queue.jobs(batch_id).set_index("name")
    assert jobs.loc["will-fail", "status"] == "failed"
    error = jobs.loc["will-fail", "error"]
    assert error.startswith("StrategyError: strategy 'explodes' (") and "batch_test_strategies.py, line " in error
    assert error.endswith("failed in target_weights: RuntimeError: boom: this strategy always fails")
    assert "in target_weights" in jobs.loc["will-fail", "traceback"]
    assert "raise RuntimeError" in jobs.loc["will-fail", "traceback"]
    done = jobs.drop(index="will-fail")
    assert set(done["status"]) == {"done"}
    store = RunStore(queue.path)
    runs = _runs_per_job(queue.path)
    assert [runs.get(job_id) for job_id in done["id"]] == [1] * len(done)  # one run per done job
    assert jobs.loc["will-fail", "id"] not in runs
    metrics = {}
    for name, row in done.iterrows():
        run = store.load(row["run_id"])
        assert run.name == f"{name} [job {row['id']}]"
        metrics[name] = run.result.metrics
        assert row["objective"] == pytest.approx(run.result.metrics["sharpe"], rel=0, abs=0)
    # buy and hold of SPY, independently: all cash into SPY at the open after the first close, marked at closes
    data = load_market_data(["SPY"], "2016-01-01", "2020-12-31")
    opens, closes = data.open["SPY"].to_numpy(), data.close["SPY"].to_numpy()
    expected_final = 100_000.0 / opens[1] * closes[-1]
    assert metrics["hold-spy"]["final_equity"] == pytest.approx(expected_final, rel=1e-12)
    # the optimize job saved the best of the 6 sets: its sharpe is the max over an explicit loop of backtests
    from engine.config import BacktestConfig
    from engine.request import BacktestRequest, run_request

    best = max(
        run_request(
            BacktestRequest("sma_cross", {"fast": f, "slow": s}, ("GLD",), "2016-01-01", "2020-12-31", BacktestConfig())
        ).metrics["sharpe"]
        for f in (5, 10, 20)
        for s in (50, 100)
    )
    assert metrics["opt"]["sharpe"] == pytest.approx(best, rel=1e-12)
    summary = queue.get(done.loc["opt", "id"])["summary"]["optimize"]
    assert summary["n_trials"] == 6 and summary["top"][0]["sharpe"] == pytest.approx(best, rel=1e-12)
    mc = queue.get(done.loc["mc", "id"])["summary"]["montecarlo"]
    assert [p["index"] for p in mc["percentiles"]] == ["p5", "p25", "p50", "p75", "p95"]
    assert 0.0 <= mc["prob_loss_beyond"] <= 1.0
    return metrics


def test_worker_runs_a_batch_and_a_failing_job_does_not_stop_it(home: Path) -> None:
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(BATCH, "mixed.yaml"))
    seen = []
    assert (
        run_worker(queue=queue, exit_when_empty=True, heartbeat=0.2, on_event=lambda job, status: seen.append(status))
        == 5
    )
    assert sorted(seen) == ["done", "done", "done", "done", "failed"]
    _check_mixed_batch(queue, batch_id)
    artifacts = queue.get(queue.jobs(batch_id).set_index("name").loc["hold-spy", "id"])["summary"]["artifacts"]
    html = Path(artifacts[0])
    assert html.is_file() and html.parent == home / "artifacts" / "batches"
    assert "plotly" in html.read_text()[:5000].lower() and (html.parent / "plotly.min.js").is_file()


def test_local_runner_gives_the_same_numbers_as_the_worker(home: Path) -> None:
    queue = JobQueue()
    worker_batch = queue.submit(parse_batch(BATCH, "mixed.yaml"))
    run_worker(queue=queue, exit_when_empty=True)
    pool_batch = queue.submit(parse_batch(BATCH, "mixed.yaml"))
    with LocalRunner(workers=2) as runner:
        counts = run_batch(queue, pool_batch, runner, heartbeat=0.2)
    assert counts == {"queued": 0, "running": 0, "done": 4, "failed": 1, "cancelled": 0}
    a = _check_mixed_batch(queue, worker_batch)
    b = _check_mixed_batch(queue, pool_batch)
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key in a[name]:
            assert np.array_equal(a[name][key], b[name][key], equal_nan=True), (name, key)
    workers = set(queue.jobs(pool_batch)["worker"])
    assert all(w and ":" in w for w in workers)  # host:pid of the pool process that computed each job


def test_a_retry_after_a_crash_reuses_the_saved_run(home: Path) -> None:
    queue = JobQueue(stale_after=0.3)
    queue.submit(parse_batch("jobs:\n  - {strategy: sma_cross, symbols: [SPY], start: 2019-01-01}\n", "one.yaml"))
    first = queue.claim("doomed")
    output = compute_job(first.spec)
    # the first attempt got as far as saving its summary and its run, then died before marking the job done
    assert queue.save_summary(
        first.id, "doomed", {"objective_name": "sharpe", "objective": output.objective, "executor": "doomed-host:1"}
    )
    run_id = RunStore().save(output.result, output.request, name=run_name(first.spec, first.id))
    time.sleep(0.4)
    assert run_worker(queue=queue, exit_when_empty=True) == 1
    row = queue.get(first.id)
    assert (row["status"], row["run_id"], row["attempts"]) == ("done", run_id, 2)
    assert row["objective"] == output.objective
    assert len(RunStore()) == 1 and find_job_run(RunStore(), first.id) == run_id


def test_a_worker_that_lost_its_job_keeps_no_run(home: Path) -> None:
    queue = JobQueue()
    queue.submit(parse_batch("jobs:\n  - {strategy: sma_cross, symbols: [SPY], start: 2019-01-01}\n", "one.yaml"))
    job = queue.claim("w1")
    output = compute_job(job.spec)
    queue.cancel(job.id)
    assert record_job(queue, job.id, "w1", job.spec, output) is None
    assert len(RunStore()) == 0 and queue.get(job.id)["status"] == "cancelled"


WALKFORWARD = """
jobs:
  - name: {name}
    kind: walkforward
    strategy: quiet_from
    symbols: [SPY]
    start: 2012-01-01
    end: 2021-12-31
    params: {{year: {year}}}
    optimize: {{ranges: {{every: [5, 10, 20]}}, min_trades: 1}}
    walkforward: {{in_sample: 2Y, out_of_sample: 1Y}}
"""


def test_walkforward_trades_the_last_feasible_window_or_says_none_was(home: Path) -> None:
    from engine.batch.jobs import optimize_spec
    from engine.research.walkforward import WalkForwardSpec, run_walkforward

    queue = JobQueue()
    # quiet_from trades no more from 2019 on: the last window (in-sample 2019-2020) has no set with a trade
    batch_id = queue.submit(
        parse_batch(
            WALKFORWARD.format(name="late-quiet", year=2019)
            + WALKFORWARD.format(name="always-quiet", year=1990).split("jobs:\n")[1],
            "wf.yaml",
        )
    )
    assert run_worker(queue=queue, exit_when_empty=True) == 2
    jobs = queue.jobs(batch_id).set_index("name")
    spec = queue.get(jobs.loc["late-quiet", "id"])["spec"]
    wf = run_walkforward(WalkForwardSpec(optimize=optimize_spec(spec), **dict(spec.walkforward)))
    feasible = list(wf.windows["feasible"])
    assert feasible[-1] is False and feasible[-2] is True  # the case: only the last window is infeasible
    assert jobs.loc["late-quiet", "status"] == "done", jobs.loc["late-quiet", "error"]
    summary = queue.get(jobs.loc["late-quiet", "id"])["summary"]["walkforward"]
    expected = {"every": int(wf.windows["every"].iloc[-2]), "year": 2019}
    assert summary["latest_params"] == expected and summary["latest_params_window"] == len(feasible) - 2
    run = RunStore().load(jobs.loc["late-quiet", "run_id"])
    assert dict(run.request.params) == expected and dict(run.result.params) == expected
    assert jobs.loc["always-quiet", "status"] == "failed"
    assert jobs.loc["always-quiet", "error"] == (
        "EngineError: walk-forward job 'always-quiet': none of the 8 windows found a feasible parameter set "
        "(relax optimize.min_trades or optimize.constraints)"
    )


def test_an_optimize_job_searches_in_its_objectives_direction(home: Path) -> None:
    from engine.config import BacktestConfig
    from engine.request import BacktestRequest, run_request

    batch = parse_batch(
        "jobs:\n  - {kind: optimize, strategy: sma_cross, symbols: [SPY], start: 2016-01-01, "
        "end: 2020-12-31, objective: turnover, optimize: {ranges: {fast: [5, 20], slow: [50, 100]}}}\n",
        "turnover.yaml",
    )
    out = compute_job(batch.jobs[0])
    turnovers = {
        (f, s): run_request(
            BacktestRequest("sma_cross", {"fast": f, "slow": s}, ("SPY",), "2016-01-01", "2020-12-31", BacktestConfig())
        ).metrics["turnover"]
        for f in (5, 20)
        for s in (50, 100)
    }
    low = min(turnovers, key=turnovers.get)
    assert max(turnovers.values()) > min(turnovers.values())
    assert out.objective == pytest.approx(turnovers[low], rel=1e-12)  # lower turnover is better: minimized
    assert (out.result.params["fast"], out.result.params["slow"]) == low


def test_a_jobs_duration_does_not_include_its_wait_for_a_pool_process(home: Path) -> None:
    import math
    import threading

    slow = "".join(
        f"  - {{name: slow{i}, strategy: slow_hold, symbols: [SPY], start: 2020-01-01, params: {{seconds: 1.0}}}}\n"
        for i in range(2)
    )
    queue = JobQueue()
    batch_id = queue.submit(parse_batch("name: waits\njobs:\n" + slow, "waits.yaml"))
    seen = []
    with LocalRunner(workers=1) as runner:
        assert runner.capacity == 2  # the driver claims slow1 while the only process runs slow0
        driver = threading.Thread(target=run_batch, args=(queue, batch_id, runner), kwargs={"heartbeat": 0.2})
        driver.start()
        while driver.is_alive():
            jobs = queue.jobs(batch_id).set_index("name")
            seen.append((jobs.loc["slow0", "state"], jobs.loc["slow1", "state"], jobs.loc["slow1", "duration"]))
            time.sleep(0.1)
        driver.join()
    jobs = queue.jobs(batch_id).set_index("name")
    assert list(jobs["status"]) == ["done", "done"], jobs[["error", "message"]]
    waiting = [s for s in seen if s[:2] == ("running", "waiting")]
    assert waiting and all(math.isnan(d) for _, _, d in waiting)  # claimed, waiting: no duration yet
    a, b = jobs.loc["slow0"], jobs.loc["slow1"]
    assert b["started_at"] >= a["finished_at"]  # slow1 started when the process was free, not when claimed
    assert b["finished_at"] - a["started_at"] >= 2.0  # the two computes ran one after the other...
    assert 1.0 <= b["duration"] < b["finished_at"] - a["started_at"] - 0.9  # ...and slow1's wait is not its time
    assert b["duration"] == pytest.approx(b["finished_at"] - b["started_at"], abs=0)


UNSAVABLE = """
name: unsavable
defaults: {start: 2019-01-01, end: 2020-12-31}
jobs:
  - {name: needs-artifacts, strategy: buy_and_hold, symbols: [SPY], artifacts: true}
  - {name: plain, strategy: sma_cross, symbols: [QQQ], params: {fast: 10, slow: 40}}
"""


def _block_artifacts(home: Path) -> None:
    """A file where the artifacts folder of batches goes: writing a job's figures raises FileExistsError."""
    (home / "artifacts").mkdir(parents=True, exist_ok=True)
    (home / "artifacts" / "batches").write_text("not a folder")


def _check_unsavable(queue: JobQueue, batch_id: str) -> None:
    jobs = queue.jobs(batch_id).set_index("name")
    bad, good = jobs.loc["needs-artifacts"], jobs.loc["plain"]
    assert bad["status"] == "failed" and bad["error"].startswith("saving the result failed: FileExistsError: ")
    assert "batches" in bad["error"] and "in write_artifacts" in bad["traceback"]
    assert bad["message"] is None  # no stale "running on ..." / "submitted to ..." note
    assert good["status"] == "done" and RunStore().load(good["run_id"]).result.metrics["sharpe"] == good["objective"]
    assert _runs_per_job(queue.path).get(bad["id"]) is None  # nothing saved for the failed job


def test_a_job_that_cannot_be_saved_fails_and_the_worker_process_goes_on(home: Path) -> None:
    import os
    import subprocess
    import sys

    _block_artifacts(home)
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(UNSAVABLE, "unsavable.yaml"))
    ids = dict(zip(queue.jobs(batch_id)["name"], queue.jobs(batch_id)["id"]))
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "worker", "--exit-when-empty", "--heartbeat", "0.2"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "IVYBT_HOME": str(home)},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"failed job {ids['needs-artifacts']}",
        f"done   job {ids['plain']}",
        "worker exiting after 2 job(s)",
    ]
    _check_unsavable(queue, batch_id)


def test_a_job_that_cannot_be_saved_in_a_pool_process_fails_with_its_traceback(home: Path) -> None:
    _block_artifacts(home)
    queue = JobQueue()
    batch_id = queue.submit(parse_batch(UNSAVABLE, "unsavable.yaml"))
    seen = {}
    with LocalRunner(workers=1) as runner:
        counts = run_batch(
            queue, batch_id, runner, heartbeat=0.2, on_event=lambda job, status: seen.update({job: status})
        )
    assert counts == {"queued": 0, "running": 0, "done": 1, "failed": 1, "cancelled": 0}
    jobs = queue.jobs(batch_id).set_index("name")
    assert seen == {jobs.loc["needs-artifacts", "id"]: "failed", jobs.loc["plain", "id"]: "done"}
    _check_unsavable(queue, batch_id)

"""Helpers of the Scheduler page: batch YAML from a simple form, the live job table, the batch summary, and the
schedules of daily operations (engine.ops.schedule): their table and saving one from the form's values.

Pure functions (no st.* calls) except `start_background_worker`, which launches an `ivybt worker` process.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import yaml

from brokers.registry import BROKER_NAMES
from engine.metrics import registry
from engine.ops.schedule import Schedule, ScheduleStore, due, next_run
from ui import charts

SCHEDULE_COLUMNS = [
    "id",
    "preset",
    "broker",
    "time",
    "mode",
    "enabled",
    "next run",
    "last run",
    "last status",
    "message",
]
MODE_LABELS = {"approve": "approve (alert, then execute on Daily Ops)", "auto": "auto (execute on paper accounts)"}
SCHEDULE_BROKERS: tuple[str, ...] = BROKER_NAMES

EXAMPLE_YAML = """\
# A batch: defaults apply to every job; a matrix expands strategies x symbol sets.
name: example
defaults:
  start: 2015-01-01
  end: 2023-12-31
  objective: sharpe
  config:
    costs: {commission_bps: 2, slippage_bps: 1}
jobs:
  - name: spy-sma
    strategy: sma_cross
    symbols: [SPY]
    params: {fast: 20, slow: 100}
matrix:
  strategies: [ema_cross, rsi_reversion]
  symbols: [[QQQ], [GLD, TLT]]
"""

POLL_EVERY = "2s"
"""How often the Queue tab rereads the jobs while one of the shown batch is queued or running."""
TABLE_COLUMNS = [
    "name",
    "kind",
    "strategy",
    "symbols",
    "status",
    "progress",
    "duration",
    "worker",
    "attempts",
    "objective",
    "run_id",
    "error",
    "id",
]


def form_yaml(
    name: str,
    strategies: Sequence[str],
    symbol_sets: str,
    start: Any,
    end: Any,
    commission_bps: float,
    slippage_bps: float,
    objective: str,
) -> str:
    """A matrix batch (strategies x symbol sets, default parameters) as YAML text.

    symbol_sets: one set per line, symbols separated by commas or spaces ("SPY" / "QQQ, IWM").
    """
    sets = [[s.upper() for s in line.replace(",", " ").split()] for line in symbol_sets.splitlines()]
    sets = [s for s in sets if s]
    doc: dict[str, Any] = {
        "name": name.strip() or "batch",
        "defaults": {
            "start": str(start) if start else None,
            "end": str(end) if end else None,
            "objective": objective,
            "config": {"costs": {"commission_bps": float(commission_bps), "slippage_bps": float(slippage_bps)}},
        },
        "matrix": {"strategies": list(strategies), "symbols": sets},
    }
    doc["defaults"] = {k: v for k, v in doc["defaults"].items() if v is not None}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)


def jobs_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """The queue's jobs for display: status as plain text ("waiting" for a claimed job no process has started yet;
    no emoji: a plain Debian box has no emoji font and draws boxes), progress 0..100 %, duration in seconds."""
    if jobs.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    out = jobs.copy()
    state = out["state"] if "state" in out.columns else out["status"]
    out["status"] = state
    out["progress"] = (100.0 * out["progress"].astype("float64")).round(0)
    out["duration"] = out["duration"].astype("float64").round(1)
    out["error"] = out["error"].fillna(out["message"]).fillna("")
    out["worker"] = out["worker"].fillna("")
    out["run_id"] = out["run_id"].fillna("")
    return out[TABLE_COLUMNS]


def best_job(jobs: pd.DataFrame) -> pd.Series | None:
    """The done job with the best objective, each job ranked in its own direction (`maximize`: 1 when a higher
    value is better, 0 when lower is); None when no done job has an objective."""
    done = jobs[(jobs["status"] == "done") & jobs["objective"].notna()]
    if done.empty:
        return None
    return done.loc[_score(done["objective"], _maximize(done)).idxmax()]


def summary_table(jobs: pd.DataFrame, summaries: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per done job: objective (and whether higher is better) and the key metrics of its saved run,
    best objective first (in each job's direction)."""
    rows = []
    done = jobs[jobs["status"] == "done"]
    for job, maximize in zip(done.itertuples(), _maximize(done)):
        metrics = (summaries.get(job.id) or {}).get("metrics") or {}
        rows.append(
            {
                "job": job.name,
                "kind": job.kind,
                "objective": job.objective_name,
                "better": "higher" if maximize else "lower",
                "value": _f(job.objective),
                **{k: _f(metrics.get(k)) for k in registry.HEADLINE},
                "run_id": job.run_id,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "job",
            "kind",
            "objective",
            "better",
            "value",
            *registry.HEADLINE,
            "run_id",
        ],
    )
    order = _score(table["value"], table["better"] == "higher").sort_values(ascending=False, na_position="last")
    return table.loc[order.index].set_index("job")


def _maximize(jobs: pd.DataFrame) -> pd.Series:
    """Per job: True when a higher objective is better (jobs without a recorded direction maximize)."""
    if "maximize" not in jobs.columns:
        return pd.Series(True, index=jobs.index)
    return jobs["maximize"].fillna(1).astype(bool)


def _score(values: pd.Series, maximize: pd.Series) -> pd.Series:
    """Objective values turned so that larger is better (negated where lower is better)."""
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    return v.where(maximize.to_numpy(), -v)


def objective_figure(table: pd.DataFrame) -> go.Figure:
    """Bars of every done job's objective (best first), the best one highlighted."""
    values = table["value"].astype("float64")
    colors = [charts.color_for(0) if i == 0 else "#9aa5b1" for i in range(len(table))]
    fig = go.Figure(
        go.Bar(
            x=list(table.index),
            y=values.to_numpy(),
            marker_color=colors,
            hovertemplate="%{x}: %{y:.4f}<extra></extra>",
            name="objective",
        )
    )
    name = table["objective"].iloc[0] if len(table) and table["objective"].nunique() == 1 else "objective"
    fig.update_layout(
        title=f"Jobs by {name}",
        yaxis_title=name,
        xaxis_title=None,
        height=360,
        margin={"l": 40, "r": 20, "t": 50, "b": 80},
    )
    return fig


def equity_comparison(curves: Mapping[str, pd.Series]) -> go.Figure:
    """Equity of every done job's saved run on one chart (the Runs page's comparison figure)."""
    return charts.compare_equity_figure(dict(curves))


def unfinished(jobs: pd.DataFrame) -> list[str]:
    """Ids of the jobs still to run or running (queued or running)."""
    return list(jobs.loc[jobs["status"].isin(["queued", "running"]), "id"])


def poll_interval(jobs: pd.DataFrame) -> str | None:
    """How often the page rereads `jobs`: POLL_EVERY while one is unfinished, None (no polling) otherwise."""
    return POLL_EVERY if unfinished(jobs) else None


def queue_poll_interval(counts: Mapping[str, int]) -> str | None:
    """`poll_interval` for the whole queue from its counts per status (JobQueue.counts())."""
    return POLL_EVERY if counts.get("queued", 0) + counts.get("running", 0) else None


def done_with_run(jobs: pd.DataFrame) -> pd.DataFrame:
    """The done jobs that saved a run (a daily-ops job saves none): the results the page can open."""
    return jobs[(jobs["status"] == "done") & jobs["run_id"].notna()]


def labels(jobs: pd.DataFrame, ids: Iterable[str]) -> dict[str, str]:
    names = jobs.set_index("id")["name"]
    return {i: f"{names[i]} ({i})" for i in ids}


def schedules_table(schedules: Sequence[Schedule], now: datetime) -> pd.DataFrame:
    """One row per schedule: its time of day and zone, next run (in its zone; "due now" when it is due) and the
    last run's trading date, status and message."""
    rows = []
    for s in schedules:
        upcoming = next_run(s, now)
        if upcoming is None:
            when = "disabled"
        else:
            when = "due now" if due(s, now) else upcoming.strftime("%a %Y-%m-%d %H:%M %Z")
        rows.append(
            [
                s.id,
                s.preset,
                s.broker,
                f"{s.at} {s.tz}",
                s.mode,
                s.enabled,
                when,
                s.last_run_date.isoformat() if s.last_run_date else "",
                s.last_status or "",
                s.last_message or "",
            ]
        )
    return pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)


def save_schedule(preset: str, broker: str, at: time, tz: str, mode: str, schedule_id: int | None = None) -> Schedule:
    """Add a schedule (or change `schedule_id`) from the form's values; ConfigError names a bad value."""
    store, hhmm = ScheduleStore(), at.strftime("%H:%M")
    if schedule_id is None:
        return store.add(preset, broker, hhmm, tz, mode)
    return store.edit(schedule_id, preset=preset, broker=broker, at=hhmm, tz=tz, mode=mode)


def start_background_worker(home: str | Path) -> int:
    """Launch `ivybt worker --exit-when-empty` as a detached process for workspace `home`; returns its pid.

    A thread waits for it, so when it ends the app reaps it at once (without, it stayed a zombie child of the
    app until the next subprocess call happened to collect it)."""

    env = {**os.environ, "IVYBT_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "worker", "--exit-when-empty"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    threading.Thread(target=proc.wait, name=f"reap-worker-{proc.pid}", daemon=True).start()
    return proc.pid


def _f(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v if math.isfinite(v) else float("nan")

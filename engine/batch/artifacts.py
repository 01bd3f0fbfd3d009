"""HTML figures of a finished job, written to the workspace's artifacts folder with `write_html`.

Never `fig.show()` (it would open a browser and block a headless worker). Files are written to a temporary
name and renamed, so a reader never sees half a file; plotly.js is written once per folder ("directory"
mode) instead of 3.5 MB inside every file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import plotly.graph_objects as go

from engine.batch.output import JobOutput
from engine.batch.spec import JobSpec
from engine.figures.equity import equity_figure
from engine.store.workspace import artifacts_dir


def job_figure(spec: JobSpec, output: JobOutput) -> go.Figure:
    """The app's equity figure (with the benchmark) over the drawdown panel, titled with the job, its kind and
    its objective."""
    result = output.result
    value = "n/a" if output.objective is None else f"{output.objective:.4g}"
    title = f"{spec.name} ({spec.kind}): {output.objective_name} = {value}"
    return equity_figure(result.equity, result.benchmark, title=title, drawdown=True)


def write_artifacts(job_id: str, spec: JobSpec, output: JobOutput) -> list[str]:
    """Write the job's figure(s) under artifacts/batches/; returns the file paths."""
    folder = artifacts_dir() / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "_", spec.name)[:80]
    path = folder / f"{job_id}-{safe}.html"
    _write(job_figure(spec, output), path)
    return [str(path)]


def _write(fig: go.Figure, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.write_html(tmp, include_plotlyjs="directory", auto_open=False, full_html=True)
    os.replace(tmp, path)

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
from plotly.subplots import make_subplots

from engine.batch.output import JobOutput
from engine.batch.spec import JobSpec
from engine.metrics import drawdown
from engine.store.workspace import artifacts_dir


def job_figure(spec: JobSpec, output: JobOutput) -> go.Figure:
    """Equity (with the benchmark) over drawdown, titled with the job, its kind and its objective."""
    result = output.result
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=result.equity.index, y=result.equity.to_numpy(), name="strategy"), row=1, col=1)
    if result.benchmark is not None:
        fig.add_trace(
            go.Scatter(x=result.benchmark.index, y=result.benchmark.to_numpy(), name="benchmark", line={"dash": "dot"}),
            row=1,
            col=1,
        )
    dd = drawdown(result.equity.to_numpy())
    fig.add_trace(go.Scatter(x=result.equity.index, y=dd, name="drawdown", fill="tozeroy"), row=2, col=1)
    value = "n/a" if output.objective is None else f"{output.objective:.4g}"
    fig.update_layout(
        title=f"{spec.name} ({spec.kind}): {output.objective_name} = {value}",
        yaxis_title="equity",
        yaxis2_title="drawdown",
        yaxis2_tickformat=".0%",
        hovermode="x unified",
    )
    return fig


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

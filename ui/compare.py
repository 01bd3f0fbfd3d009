"""Side-by-side comparison of saved runs: metrics per run and the configuration fields that differ.

Pure pandas (no Streamlit); the Runs page draws the frames.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from engine.store.runs import StoredRun


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys: {"config": {"costs": {"slippage_bps": 5}}} -> {"config.costs.slippage_bps": 5}.
    Lists and tuples become comma-joined strings so they compare and display as one cell."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = ", ".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def run_label(run: StoredRun) -> str:
    """A short column label: id and strategy."""
    return f"{run.id[:8]} {run.result.strategy}"


def metrics_side_by_side(runs: Sequence[StoredRun]) -> pd.DataFrame:
    """Rows = metric names (union, first run's order first), columns = runs; NaN where a run lacks one."""
    names: list[str] = []
    for run in runs:
        names += [n for n in run.result.metrics if n not in names]
    return pd.DataFrame(
        {run_label(r): [_float(r.result.metrics.get(n)) for n in names] for r in runs},
        index=pd.Index(names, name="metric"),
    )


def config_diff(runs: Sequence[StoredRun]) -> pd.DataFrame:
    """Rows = request fields (dotted) whose values differ between the runs, columns = runs (as text)."""
    flat = [flatten(r.request.to_dict()) for r in runs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    rows = {}
    for key in keys:
        cells = [_text(f.get(key)) for f in flat]
        if len(set(cells)) > 1:
            rows[key] = cells
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[run_label(r) for r in runs])
    frame.index.name = "field"
    return frame


def _text(value: Any) -> str:
    return "" if value is None else (json.dumps(value) if isinstance(value, (dict, list)) else str(value))


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

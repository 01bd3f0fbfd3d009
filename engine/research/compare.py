"""Comparing saved runs: metrics side by side with their differences, the request fields that differ, and the
equity curves on one footing (the common period, or each run on its own dates).

Shared by the Runs page (ui.compare draws these frames) and `ivybt runs compare`. Why alignment matters: two
runs over different periods rebased to 1 at their own first bar and drawn on one date axis look comparable
but are not (one may start years later); aligning cuts every curve to the dates all runs cover and rebases
them at that common first bar, so equal heights mean equal growth over the same days.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine.errors import ConfigError
from engine.metrics import registry
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
    """A short column label: the id's first 8 characters and the run's name (its strategy when unnamed)."""
    return f"{run.id[:8]} {run.name or run.result.strategy}"


def metrics_side_by_side(runs: Sequence[StoredRun]) -> pd.DataFrame:
    """Rows = metric keys (union, registry order first), columns = run labels; NaN where a run lacks one."""
    names = registry.ordered({n for run in runs for n in run.result.metrics})
    return pd.DataFrame(
        {run_label(r): [_float(r.result.metrics.get(n)) for n in names] for r in runs},
        index=pd.Index(names, name="metric"),
    )


def metric_differences(table: pd.DataFrame) -> pd.DataFrame:
    """For a `metrics_side_by_side` table: each later run minus the first, as text with its unit
    (`registry.format_difference`: pp for percentage metrics). Columns "<label> - <first label>"."""
    first = table.columns[0]
    out = pd.DataFrame(index=table.index)
    for col in table.columns[1:]:
        out[f"{col} - {first}"] = [
            registry.format_difference(k, table.at[k, col] - table.at[k, first]) if k in registry.KEYS else "n/a"
            for k in table.index
        ]
    return out


def config_diff(runs: Sequence[StoredRun]) -> pd.DataFrame:
    """Rows = request fields (dotted) whose values differ between the runs, columns = run labels (as text)."""
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


@dataclass(frozen=True)
class AlignedCurves:
    """Equity curves ready to overlay: each rebased to 1.0 at its first bar shown.

    aligned: True = every curve cut to the common period [start, end]; False = each on its own dates.
    caption: one sentence saying which, with the dates, for the chart.
    """

    curves: dict[str, pd.Series]
    aligned: bool
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    caption: str


def common_period(curves: Mapping[str, pd.Series]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(latest first bar, earliest last bar) of the curves; ConfigError naming each period when they do not
    overlap."""
    periods = {k: (s.dropna().index[0], s.dropna().index[-1]) for k, s in curves.items() if len(s.dropna())}
    if not periods:
        raise ConfigError("no equity curve to compare")
    start = max(a for a, _ in periods.values())
    end = min(b for _, b in periods.values())
    if start > end:
        spans = "; ".join(f"{k}: {a:%Y-%m-%d}..{b:%Y-%m-%d}" for k, (a, b) in periods.items())
        raise ConfigError(f"the runs share no period ({spans}); compare them on their own dates")
    return start, end


def align_curves(curves: Mapping[str, pd.Series], common: bool = True) -> AlignedCurves:
    """The curves on the common period (rebased at its first bar) or each on its own dates (rebased at its own
    first bar), with a caption saying which. ConfigError when common=True and the periods do not overlap."""
    clean = {k: s.dropna() for k, s in curves.items() if len(s.dropna())}
    if not common:
        spans = ", ".join(f"{k} {s.index[0]:%Y-%m-%d}..{s.index[-1]:%Y-%m-%d}" for k, s in clean.items())
        return AlignedCurves(
            {k: s / s.iloc[0] for k, s in clean.items()},
            False,
            None,
            None,
            f"Each run on its own dates ({spans}), rebased to 1 at its own first bar; periods differ, so "
            "heights are not growth over the same days.",
        )
    start, end = common_period(clean)
    out = {}
    for k, s in clean.items():
        cut = s.loc[start:end]
        out[k] = cut / cut.iloc[0]
    differ = len({(s.index[0], s.index[-1]) for s in clean.values()}) > 1
    caption = (
        f"Aligned on the common period {start:%Y-%m-%d}..{end:%Y-%m-%d}, rebased to 1 at its first bar"
        + (" (the runs cover different periods; bars outside it are not shown)." if differ else ".")
        + " Metrics in the table are each run's own, over its full period."
    )
    return AlignedCurves(out, True, start, end, caption)


def _text(value: Any) -> str:
    return "" if value is None else (json.dumps(value) if isinstance(value, (dict, list)) else str(value))


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

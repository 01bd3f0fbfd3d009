"""Printing for the CLI: plain-text tables and strict JSON (NaN and inf become null)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import pandas as pd

from engine.metrics import registry
from engine.store.jsonable import dumps, plain


def metrics_json(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Metrics for JSON output: counts as integers, non-finite values as null."""
    out = {}
    for k, v in plain(dict(metrics)).items():
        if registry.is_count(k) and isinstance(v, float) and v.is_integer():
            v = int(v)
        out[k] = v
    return out


def print_json(obj: Any, out: TextIO | None = None) -> None:
    """Print ONE strict JSON object (no NaN tokens) on one line."""
    print(dumps(obj), file=out or sys.stdout)


def format_metric(name: str, value: Any) -> str:
    """A metric in a text table (the registry's format; ratios to 4 decimals, "-" when missing). JSON always
    carries the raw value: fractions stay fractions."""
    return registry.format_value(name, value, missing="-", ratio_digits=4)


def ordered_metric_names(*metric_dicts: Mapping[str, Any]) -> list[str]:
    """The names of the given metric dicts in the registry's display order (anything else alphabetically)."""
    return registry.ordered(set().union(*(set(m) for m in metric_dicts)))


def metrics_text(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """A text table: one row per metric, one column per named metrics dict (e.g. strategy, benchmark)."""
    names = ordered_metric_names(*columns.values())
    rows = [[n] + [format_metric(n, m.get(n)) for m in columns.values()] for n in names]
    return table_text(["metric", *columns], rows, align_right_from=1)


def table_text(headers: Sequence[str], rows: Sequence[Sequence[Any]], align_right_from: int | None = None) -> str:
    """A plain aligned text table (no dependencies)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        parts = []
        for i, c in enumerate(row):
            right = align_right_from is not None and i >= align_right_from
            parts.append(c.rjust(widths[i]) if right else c.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def frame_text(frame: pd.DataFrame, max_rows: int = 50) -> str:
    """A DataFrame as text (all columns, at most `max_rows` rows)."""
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_rows", max_rows):
        return frame.to_string(max_rows=max_rows)

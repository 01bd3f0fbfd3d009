"""Printing for the CLI: plain-text tables, strict JSON (NaN and inf become null), warnings, and `safe` text.

Names typed by users (run names, strategies, symbols from files) may hold control characters or ANSI escape
sequences that would recolour, move the cursor in or ring the bell of the terminal: everything printed as text
goes through `safe`, which shows them escaped (`\x1b[31m` prints as the six characters `\x1b[31m`). JSON output
needs nothing: json escapes control characters itself.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import pandas as pd

from engine.metrics import registry
from engine.store.jsonable import dumps, plain


def safe(text: object) -> str:
    """text with every control or format character (C0, DEL, C1, bidi overrides, ...) written as an escape."""
    out = str(text)
    if out.isprintable():
        return out
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in out)


def _escape(ch: str) -> str:
    code = ord(ch)
    if unicodedata.category(ch) == "Zs":
        return ch  # spaces of other widths (no-break, thin) stay as they are
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def print_warnings(warnings: Sequence[str], out: TextIO | None = None) -> None:
    """One `ivybt: warning: ...` line per warning on stderr (stdout stays the result)."""
    for warning in warnings:
        print(f"ivybt: warning: {safe(warning)}", file=out or sys.stderr)


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
    """A text table: one row per metric, one column per named metrics dict (e.g. strategy, benchmark), then the
    metric's registry label with its unit (the key stays first: it is what options such as --objective take)."""
    names = ordered_metric_names(*columns.values())
    rows = [[n] + [format_metric(n, m.get(n)) for m in columns.values()] for n in names]
    lines = table_text(["metric", *columns], rows, align_right_from=1).splitlines()
    width = max(len(line) for line in lines)
    labels = ["label (unit)", "-" * max(len(registry.label(n)) for n in names or [""]), *map(registry.label, names)]
    return "\n".join(f"{line.ljust(width)}  {safe(label)}".rstrip() for line, label in zip(lines, labels))


def table_text(headers: Sequence[str], rows: Sequence[Sequence[Any]], align_right_from: int | None = None) -> str:
    """A plain aligned text table (no dependencies)."""
    cells = [[safe(h) for h in headers]] + [["" if c is None else safe(c) for c in r] for r in rows]
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

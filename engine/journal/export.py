"""The journal as a file: CSV (one row per entry, for a spreadsheet) or Markdown (a table, then each entry's notes
and screenshots, for reading or pasting into notes).

CSV columns are `EXPORT_COLUMNS`: the entry's fields (engine.journal.model.Entry.to_dict) plus its trade's P&L;
tags and screenshot paths are joined with "; " (a tag never holds ";" or ","), an empty state or trade index is an
empty cell. Screenshot paths are relative to the journal folder (`<workspace>/journal/`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from engine.errors import ConfigError
from engine.journal.model import Entry, state_label

FORMATS: tuple[str, ...] = ("csv", "md")
LIST_SEPARATOR = "; "
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "kind",
    "run_id",
    "trade_index",
    "broker",
    "account_id",
    "fill_id",
    "symbol",
    "trade_time",
    "pnl",
    "setup",
    "state",
    "tags",
    "notes",
    "screenshots",
    "created_at",
    "updated_at",
)
MIME: dict[str, str] = {"csv": "text/csv", "md": "text/markdown"}


def export_rows(entries: Sequence[Entry], pnl: Sequence[float]) -> list[dict[str, Any]]:
    """The export's rows: EXPORT_COLUMNS with lists joined and no P&L / state / index as ""."""
    rows = []
    for entry, value in zip(entries, pnl, strict=True):
        row = entry.to_dict()
        row["pnl"] = "" if value is None or math.isnan(value) else repr(float(value))
        row["tags"] = LIST_SEPARATOR.join(row["tags"])
        row["screenshots"] = LIST_SEPARATOR.join(row["screenshots"])
        for key in ("state", "trade_index"):
            row[key] = "" if row[key] is None else row[key]
        rows.append({c: row[c] for c in EXPORT_COLUMNS})
    return rows


def to_csv(entries: Sequence[Entry], pnl: Sequence[float]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(entries, pnl))
    return buf.getvalue()


def _cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _money(value: float) -> str:
    return "open" if value is None or math.isnan(value) else f"{value:,.2f}"


def to_markdown(entries: Sequence[Entry], pnl: Sequence[float], title: str = "Trade journal") -> str:
    """A Markdown document: a summary table of the entries, then one section per entry with its notes and its
    screenshots as images (paths relative to the workspace folder)."""
    lines = [f"# {title}", "", f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.", ""]
    if not entries:
        return "\n".join(lines)
    lines += ["| # | trade | symbol | time | P&L | setup | state | tags |", "|---|---|---|---|---:|---|---|---|"]
    for e, value in zip(entries, pnl, strict=True):
        cells = [
            e.id,
            e.target.describe(),
            e.symbol,
            e.trade_time,
            _money(value),
            e.setup,
            state_label(e.state),
            ", ".join(e.tags),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for e, value in zip(entries, pnl, strict=True):
        lines += ["", f"## #{e.id} {e.symbol} ({e.target.describe()})", ""]
        lines.append(
            f"P&L {_money(value)}; setup: {e.setup or '-'}; state: {state_label(e.state) or '-'}; "
            f"tags: {', '.join(e.tags) or '-'}"
        )
        if e.notes:
            lines += ["", e.notes]
        for shot in e.screenshots:
            lines += ["", f"![{shot.name}](journal/{shot.path})"]
    return "\n".join(lines) + "\n"


def export_text(fmt: str, entries: Sequence[Entry], pnl: Sequence[float]) -> str:
    """The journal in `fmt` ("csv" or "md")."""
    if fmt == "csv":
        return to_csv(entries, pnl)
    if fmt == "md":
        return to_markdown(entries, pnl)
    raise ConfigError(f"journal export: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")

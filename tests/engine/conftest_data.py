"""Shared helpers for the data-layer tests (imported explicitly; their `home` fixture is tests/conftest.py's)."""

from __future__ import annotations

import csv
from pathlib import Path

from engine.data.sources import SAMPLE_DIR

HEADER = "date,open,high,low,close,volume\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def good_csv(path: Path, rows: int = 3, start_day: int = 2, close: float = 10.0) -> Path:
    """A valid daily CSV with `rows` bars in January 2020 (days start_day, start_day+1, ...)."""
    lines = [HEADER]
    for i in range(rows):
        c = close + i
        lines.append(f"2020-01-{start_day + i:02d},{c - 0.5},{c + 1},{c - 1},{c},{1000 + i}\n")
    return write(path, "".join(lines))


def sample_rows(symbol: str) -> list[dict[str, str]]:
    """The bundled CSV of `symbol` read with the plain csv module (independent of our reader)."""
    with open(SAMPLE_DIR / f"{symbol}.csv", newline="") as fh:
        return list(csv.DictReader(fh))

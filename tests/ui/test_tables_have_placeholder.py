"""Every table the app draws shows an empty cell as a dash, never as the word "None": each `st.dataframe` call in
app.py, ui/ and pages/ passes `placeholder=` (ui.tables.show does; its callers need not)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dataframe_calls_without_placeholder(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "dataframe"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "st"
            and not any(k.arg == "placeholder" for k in node.keywords)
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_a_call_without_placeholder() -> None:
    assert _dataframe_calls_without_placeholder("import streamlit as st\nst.dataframe(df, key='x')\n") == [2]
    assert _dataframe_calls_without_placeholder("st.dataframe(df, placeholder='-')\n") == []


def test_every_table_passes_a_placeholder() -> None:
    files = [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        for line in _dataframe_calls_without_placeholder(path.read_text("utf-8"))
    ]
    assert offenders == [], "use ui.tables.show (or pass placeholder=ui.tables.BLANK): " + ", ".join(offenders)

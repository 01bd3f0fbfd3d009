"""Reusable Streamlit inputs: strategy parameters generated from `Params`, and file import with per-file errors.

Widgets take their value from `st.session_state` (set with `seed`) so that loading a preset can refill a
form: a widget is never given both a `value=` and a session-state value.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from engine.data import import_files
from engine.errors import EngineError
from engine.strategies.base import ParamSpec, param_specs


def param_key(prefix: str, strategy: str, name: str) -> str:
    """Session-state key of one parameter widget (per strategy, so types never clash)."""
    return f"{prefix}_p_{strategy}_{name}"


def seed(state: MutableMapping[str, Any], key: str, value: Any, overwrite: bool = False) -> None:
    """Set a widget's value in session state (only if unset, unless `overwrite`)."""
    if overwrite or key not in state:
        state[key] = value


def _bounds(spec: ParamSpec, value: Any) -> tuple[Any, Any]:
    low, high = spec.low, spec.high
    cast = int if spec.type is int else float
    if low is not None:
        low = cast(min(low, value)) if value is not None else cast(low)
    if high is not None:
        high = cast(max(high, value)) if value is not None else cast(high)
    return low, high


def param_inputs(
    strategy: str,
    params_cls: type,
    prefix: str,
    values: Mapping[str, Any] | None = None,
    columns: int = 3,
    overwrite: bool = False,
) -> dict[str, Any]:
    """One widget per `Params` field: int/float -> number_input (bounds as min/max, step), bool -> checkbox,
    choices -> selectbox. Returns name -> value as entered (the engine validates cross-field rules)."""
    specs = param_specs(params_cls)
    values = dict(values or {})
    cols = st.columns(columns)
    out: dict[str, Any] = {}
    for i, spec in enumerate(specs):
        key = param_key(prefix, strategy, spec.name)
        seed(st.session_state, key, values.get(spec.name, spec.default), overwrite)
        label = spec.name.replace("_", " ")
        with cols[i % columns]:
            if spec.type is bool:
                st.session_state[key] = bool(st.session_state[key])
                out[spec.name] = st.checkbox(label, key=key, help=spec.doc or None)
            elif spec.choices:
                out[spec.name] = st.selectbox(label, list(spec.choices), key=key, help=spec.doc or None)
            elif spec.type in (int, float):
                cast = int if spec.type is int else float
                st.session_state[key] = cast(st.session_state[key])
                low, high = _bounds(spec, st.session_state[key])
                step = cast(spec.step) if spec.step else (1 if spec.type is int else None)
                out[spec.name] = st.number_input(
                    label,
                    min_value=low,
                    max_value=high,
                    step=step,
                    key=key,
                    help=spec.doc or None,
                    format=None if spec.type is int else "%.4g",
                )
            else:
                out[spec.name] = st.text_input(label, key=key, help=spec.doc or None)
    return out


def _report_messages(
    report: Any, name_of: Callable[[str], str], clean: Callable[[str], str], hint: str
) -> list[tuple[str, str]]:
    """("ok" | "error", text) per file of an engine ImportReport; each error names its file once."""
    messages: list[tuple[str, str]] = []
    for item in report.imported:
        messages.append(
            (
                "ok",
                f"{name_of(item.path)}: imported as {item.symbol} ({item.bars} bars, "
                f"{item.first:%Y-%m-%d} .. {item.last:%Y-%m-%d})",
            )
        )
    for path, message in report.errors.items():
        name, text = name_of(path), clean(message)
        for prefix in (f"{path}: ", f"{name}: "):  # the engine's message may already start with the path
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        messages.append(("error", f"{name}: {text}{hint}"))
    return messages


def _finish_import(
    key: str, messages: list[tuple[str, str]], imported: list[str], on_import: Callable[[list[str]], None] | None
) -> None:
    """After an import: run `on_import` and rerun with the messages kept for the next run (flash)."""
    if imported and on_import is not None:
        on_import(imported)
        st.session_state[f"{key}_flash"] = messages
        st.rerun()


def _show_messages(messages: list[tuple[str, str]]) -> None:
    for kind, text in messages:
        (st.success if kind == "ok" else st.error)(text)


def import_uploads(label: str, key: str, on_import: Callable[[list[str]], None] | None = None) -> list[str]:
    """A CSV/Parquet uploader with an Import button: files are validated by the engine and added to the
    workspace, and each file's error is shown by name.

    When something was imported, `on_import(symbols)` runs (clear caches, select the new symbols) and the
    page reruns so every list shows the new symbols; the messages are shown once after that rerun.
    Returns the symbols imported on this click (only reached without `on_import`).
    """

    files = st.file_uploader(
        label,
        type=["csv", "parquet"],
        accept_multiple_files=True,
        key=key,
        help="One file per symbol, named SYMBOL.csv or SYMBOL.parquet, with columns "
        "date, open, high, low, close, volume.",
    )
    messages: list[tuple[str, str]] = st.session_state.pop(f"{key}_flash", [])
    imported: list[str] = []
    if st.button("Import", key=f"{key}_go", disabled=not files):
        messages = []
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for f in files or []:
                path = Path(tmp) / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)

            def clean(text: str) -> str:
                return text.replace(tmp + "/", "")

            try:
                report = import_files(paths)
            except EngineError as e:
                messages.append(("error", f"Import failed: {clean(str(e))}"))
            else:
                imported = list(report.symbols)
                messages = _report_messages(
                    report, lambda p: Path(p).name, clean, " (fix the file and upload it again)"
                )
        _finish_import(key, messages, imported, on_import)
    _show_messages(messages)
    return imported


def import_from_path(label: str, key: str, on_import: Callable[[list[str]], None] | None = None) -> list[str]:
    """A folder-or-file path box with an Import button (files on the machine running the app).

    Same contract as `import_uploads`: per-file messages naming each file once, and after a successful
    import `on_import(symbols)` then a rerun, so the symbol table and lists show the new symbols at once.
    """

    folder = st.text_input(
        label,
        key=key,
        placeholder="/path/to/bars",
        help="A CSV/Parquet file, or a folder of SYMBOL.csv / SYMBOL.parquet files.",
    )
    messages: list[tuple[str, str]] = st.session_state.pop(f"{key}_flash", [])
    imported: list[str] = []
    if st.button("Import from path", key=f"{key}_go", disabled=not folder):
        try:
            report = import_files([folder.strip()])
        except EngineError as e:
            messages = [("error", f"Import failed: {e}")]
        else:
            imported = list(report.symbols)
            messages = _report_messages(report, str, lambda text: text, "")
        _finish_import(key, messages, imported, on_import)
    _show_messages(messages)
    return imported


def frame_or_empty(df: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    """`df`, or an empty frame with `columns` (so tables render with headers)."""
    return df if df is not None else pd.DataFrame(columns=list(columns))

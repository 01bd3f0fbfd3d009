"""How the app draws tables: metric columns and rows labelled from the metric registry (label with unit, the
definition as tooltip, a width that fits the label), and missing cells shown as "–" (a dash), never as "None".

Streamlit writes a missing cell (None, NaN) as the word "None" unless st.dataframe is given a placeholder, and a
pandas Styler writes str(None) unless given `na_rep`: every table goes through `show` (or passes `BLANK`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import pandas as pd
import streamlit as st

from engine.metrics import registry

#: What an empty cell shows.
BLANK = "–"
#: st.dataframe number formats per registry display format (currency: thousands separators, 2 decimals).
NUMBER_FORMATS = {"percent": "percent", "ratio": "%.3f", "currency": "accounting", "count": "%d", "bars": "%d"}
#: Pixels per header character and for the sort arrow and padding, so a header is never cut off.
_CHAR_PX, _PAD_PX = 8, 36


def header_width(label: str) -> int:
    """A column width in pixels that shows `label` whole."""
    return _PAD_PX + _CHAR_PX * len(label)


def metric_column(key: str) -> Any:
    """A st.column_config for metric `key`: its registry label (with unit) as header, its definition as tooltip,
    its display format and a width that fits the header; a plain number column for a key that is not a metric."""
    if not registry.is_metric(key):
        return st.column_config.NumberColumn()
    m = registry.metric(key)
    return st.column_config.NumberColumn(
        m.label, help=m.definition, format=NUMBER_FORMATS[m.fmt], width=header_width(m.label)
    )


def metric_columns(keys: Iterable[Any]) -> dict[str, Any]:
    """`metric_column` for each of `keys` that is a registered metric (other columns keep their own header)."""
    return {str(k): metric_column(str(k)) for k in keys if registry.is_metric(str(k))}


def labelled_rows(table: pd.DataFrame) -> pd.DataFrame:
    """A table whose rows are metric keys, with the registry labels (units included) as row names instead; the
    index keeps its name, rows that are not metrics keep theirs."""
    out = table.copy()
    out.index = pd.Index([registry.label(str(k)) for k in table.index], name=table.index.name)
    return out


def metric_index_column(keys: Iterable[Any]) -> Any:
    """The column settings of the row names of a metrics table (rows = metrics): header "Metric", wide enough
    for the longest label."""
    longest = max((len(registry.label(str(k))) for k in keys), default=10)
    return st.column_config.Column(
        "Metric", help="Units in brackets; see the definitions below the table.", width=header_width("x" * longest)
    )


def definitions_markdown(keys: Iterable[Any]) -> str:
    """A bullet list "**label**: definition" of the registered metrics among `keys` (a legend for a table)."""
    return "\n".join(
        f"- **{registry.label(str(k))}**: {registry.definition(str(k))}" for k in keys if k in registry.KEYS
    )


def blank_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the text cells that say nothing ("None", "nan", "NaT", "<NA>", from str() of a missing
    value) emptied to None, so the table's placeholder shows them as blank."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: None if isinstance(v, str) and v in _SAY_NOTHING else v)
    return out


_SAY_NOTHING = frozenset({"None", "nan", "NaN", "NaT", "<NA>"})


def show(data: Any, *, height: int | Literal["auto"] = "auto", **kwargs: Any) -> None:
    """st.dataframe with empty cells shown as `BLANK` (text cells saying "None" or "nan" included)."""
    if isinstance(data, pd.DataFrame):
        data = blank_text(data)
    st.dataframe(data, height=height, placeholder=BLANK, **kwargs)

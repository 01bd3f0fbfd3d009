"""Screen filters: `COLUMN OP VALUE` texts such as `rsi_14<30`, `momentum_126 > 0` or `regime == bull_calm`,
parsed by a small grammar (never eval'd).

OP is one of < <= > >= == !=; VALUE is a number (`0.05`, `-1e-3`, `5%` = 0.05) or a word compared as text
(== and != only). A row whose value is missing (NaN) never passes. A text that does not parse is one
ConfigError naming it and the expected form.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ConfigError

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_FILTER_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_:.@-]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$")
_NUMBER_RE = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?$")
_WORD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
FORM = "COLUMN OP VALUE, e.g. rsi_14<30 or momentum_126>0 (OP: < <= > >= == !=)"


@dataclass(frozen=True)
class Filter:
    """One parsed filter: column, operator text and value (a float, or a str for == / !=)."""

    column: str
    op: str
    value: float | str
    text: str

    def mask(self, table: pd.DataFrame) -> pd.Series:
        """Rows of `table` that pass (a missing value never does); ConfigError when the column is not there."""
        if self.column not in table.columns:
            raise ConfigError(
                f"filter {self.text!r}: no column {self.column!r}; columns: {', '.join(map(str, table.columns))}"
            )
        col = table[self.column]
        if isinstance(self.value, str):
            text = col.astype(object)
            passed = _OPS[self.op](text.astype(str), self.value) & text.notna()
            return pd.Series(np.asarray(passed, dtype=bool), index=table.index)
        values = pd.to_numeric(col, errors="coerce")
        passed = _OPS[self.op](values, self.value) & values.notna()
        return pd.Series(np.asarray(passed, dtype=bool), index=table.index)


def parse_filter(text: str) -> Filter:
    """`text` as a Filter; ConfigError naming it and the expected form when it does not parse."""
    m = _FILTER_RE.match(str(text))
    if not m:
        raise ConfigError(f"filter {text!r} is not {FORM}")
    column, op, raw = m.groups()
    if _NUMBER_RE.match(raw):
        value: float | str = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    elif _WORD_RE.match(raw):
        if op not in ("==", "!="):
            raise ConfigError(f"filter {text!r}: a word ({raw!r}) compares with == or != only; {FORM}")
        value = raw
    else:
        raise ConfigError(f"filter {text!r}: value {raw!r} is neither a number nor a word; {FORM}")
    return Filter(column, op, value, str(text).strip())


def parse_filters(texts: Iterable[str]) -> list[Filter]:
    """Each non-blank text parsed (see `parse_filter`)."""
    return [parse_filter(t) for t in texts if str(t).strip()]


def apply_filters(table: pd.DataFrame, filters: Iterable[Filter]) -> pd.DataFrame:
    """The rows of `table` passing every filter (all of them: AND)."""
    keep = pd.Series(True, index=table.index)
    for f in filters:
        keep &= f.mask(table)
    return table[keep.to_numpy()]

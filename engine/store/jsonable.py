"""JSON-ready values: the one converter behind every JSON the engine writes (CLI output, run store, job queue,
audit log); brokers import it too.

Two policies, because two kinds of reader exist:
- `plain` / `dumps`: strict JSON for people and other programs (`--json`, the audit log). NaN and inf become
  null, so the text never holds the non-standard `NaN` / `Infinity` tokens.
- `json_default`: the `default=` of `json.dumps` for our own stored blobs (runs, job summaries). Floats pass
  through untouched, so NaN and inf round-trip through Python's json as `NaN` / `Infinity`.
Both turn numpy scalars into Python ones (`.item()`), numpy arrays into lists, and timestamps, datetimes and
dates into ISO text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any, *, nat: Any = None, keep_nan: bool = False) -> Any:
    """`value` as strict-JSON data, recursively: mappings -> dicts with str keys, sequences and sets -> lists,
    numpy scalars -> Python, NaN/inf -> None, timestamps/dates -> ISO text, anything else -> str(value).

    Args:
        value: what to convert.
        nat: what pandas NaT becomes (None -> null; the audit log and job summaries keep the "NaT" text).
        keep_nan: leave NaN and inf floats as they are, for a stored blob that Python's json reads back
            (a batch job's spec: an infinite constraint bound is not the same as none).
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v, nat=nat, keep_nan=keep_nan) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, nat=nat, keep_nan=keep_nan) for v in value]
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return [plain(v, nat=nat, keep_nan=keep_nan) for v in value.tolist()]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float):
        return value if keep_nan or math.isfinite(value) else None
    if value is pd.NaT:
        return nat
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def dumps(value: Any, *, nat: Any = None, **kwargs: Any) -> str:
    """Strict JSON text of `plain(value)` (never a NaN token); `kwargs` go to `json.dumps` (e.g. sort_keys)."""
    return json.dumps(plain(value, nat=nat), allow_nan=False, **kwargs)


def json_default(value: Any) -> Any:
    """`json.dumps(..., default=json_default)` for stored blobs: numpy scalars -> Python, arrays and sets ->
    lists, timestamps/dates -> ISO text, anything else -> str(value). Floats are not touched (NaN stays NaN)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

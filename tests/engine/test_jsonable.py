"""engine.store.jsonable: the one JSON converter (strict for output, NaN-keeping for stored blobs)."""

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from engine.store.jsonable import dumps, json_default, plain


def test_plain_turns_numpy_pandas_and_dates_into_strict_json_values():
    value = {
        1: np.int64(3),
        "f": np.float32(0.5),
        "nan": float("nan"),
        "inf": np.float64(np.inf),
        "ts": pd.Timestamp("2024-01-02 15:30"),
        "nat": pd.NaT,
        "day": dt.date(2024, 1, 2),
        "arr": np.array([1.0, np.nan]),
        "set": {7},
        "tuple": (True, None),
        "other": Ellipsis,
    }
    assert plain(value) == {
        "1": 3,
        "f": 0.5,
        "nan": None,
        "inf": None,
        "ts": "2024-01-02T15:30:00",
        "nat": None,
        "day": "2024-01-02",
        "arr": [1.0, None],
        "set": [7],
        "tuple": [True, None],
        "other": "Ellipsis",
    }
    assert type(plain(np.int64(3))) is int


def test_nat_option_and_dumps_never_write_nan_tokens():
    assert plain([pd.NaT], nat="NaT") == ["NaT"]
    text = dumps({"b": float("nan"), "a": np.float64(-np.inf)}, sort_keys=True)
    assert text == '{"a": null, "b": null}'


def test_json_default_keeps_nan_for_stored_blobs():
    text = json.dumps(
        {"x": np.float64("nan"), "n": np.int32(2), "when": pd.Timestamp("2024-01-02"), "s": frozenset({1})},
        default=json_default,
    )
    back = json.loads(text)
    assert math.isnan(back["x"]) and back["n"] == 2 and back["when"] == "2024-01-02T00:00:00" and back["s"] == [1]
    assert json.loads(json.dumps({"a": np.arange(3)}, default=json_default)) == {"a": [0, 1, 2]}


def test_keep_nan_leaves_non_finite_floats_for_stored_specs():
    value = {"constraints": {"sharpe": (float("-inf"), None)}, "x": [np.float64("nan")], "day": dt.date(2024, 1, 2)}
    out = plain(value, keep_nan=True)
    assert out["constraints"] == {"sharpe": [float("-inf"), None]} and out["day"] == "2024-01-02"
    assert math.isnan(out["x"][0])
    assert json.loads(json.dumps(out))["constraints"]["sharpe"][0] == float("-inf")

"""Helpers for the AppTest page tests (importable as page_helpers: unique module name)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def page(name: str, timeout: float = 180) -> AppTest:
    """An AppTest of the whole app (app.py with its navigation), switched to pages/<name>.py."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.switch_page(f"pages/{name}.py")
    return at


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def assert_clean(at: AppTest) -> None:
    """No exception box and no error message on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, errors(at)


def frame(at: AppTest, index_name: str):
    """The first st.dataframe whose index is named `index_name` (display frames carry no widget key)."""
    for df in at.dataframe:
        if df.value.index.name == index_name:
            return df.value
    raise AssertionError(f"no dataframe with index {index_name!r}; have {[d.value.index.name for d in at.dataframe]}")


def _decode(value):
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(n) for n in shape.split(",")]
        return arr.reshape(shape) if shape else arr
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def chart_traces(chart) -> list[dict]:
    """The traces of an st.plotly_chart element, with Plotly's base64 typed arrays decoded to numpy."""
    import json

    return _decode(json.loads(chart.proto.spec))["data"]

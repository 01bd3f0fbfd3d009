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


def shown_text(df):
    """What a styled st.dataframe shows: the Styler's display values (strings), same shape as `df.value`."""
    from streamlit import dataframe_util

    shown = dataframe_util.convert_arrow_bytes_to_pandas_df(df.proto.arrow_data.styler.display_values)
    shown.index = df.value.index
    return shown


def column_config(df) -> dict:
    """The column configuration an st.dataframe was drawn with (column name -> settings)."""
    import json

    return json.loads(df.proto.columns or "{}")


class Downloads:
    """The files behind st.download_button in AppTest runs (AppTest keeps them in a per-run media manager).

    Create it (with pytest's monkeypatch) before `at.run()`; `content(button)` returns a button's bytes,
    running a deferred (callable) download the way a click in the browser would.
    """

    def __init__(self, monkeypatch) -> None:
        import streamlit.testing.v1.app_test as app_test

        self.managers: list = []
        original = app_test.MediaFileManager

        def capture(storage):
            manager = original(storage)
            self.managers.append(manager)
            return manager

        monkeypatch.setattr(app_test, "MediaFileManager", capture)

    def content(self, button) -> bytes:
        manager = self.managers[-1]
        url = button.proto.url or manager.execute_deferred(button.proto.deferred_file_id)
        stored = manager.read_file(url.rsplit("/", 1)[-1])
        assert stored is not None, f"no media file behind {url}"
        return stored.content


def metric_rows(at: AppTest, frame_of=None):
    """The metrics table (rows named by the registry's labels, index "metric") with its rows keyed by metric
    key again, for lookups like `.loc["sharpe", "Strategy"]`; `frame_of(element)` picks what to read from the
    st.dataframe (default: its values; e.g. `shown_text` for the text shown)."""
    from engine.metrics import registry

    element = next((d for d in at.dataframe if d.value.index.name == "metric"), None)
    assert element is not None, f"no metrics table; have {[d.value.index.name for d in at.dataframe]}"
    by_label = {registry.label(k): k for k in registry.KEYS}
    table = element.value if frame_of is None else frame_of(element)
    return table.rename(index=by_label)

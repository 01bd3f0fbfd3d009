"""Helpers for the AppTest page tests (importable as page_helpers: unique module name)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def page(name: str, timeout: float = 180) -> AppTest:
    """An AppTest of one page file (pages/<name>.py)."""
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=timeout)


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

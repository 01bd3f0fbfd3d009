"""The code in docs/extending.md runs: its python blocks, in order, in one namespace, in a fresh workspace.

A block whose first line is `# file: <path>` is written to that path instead (`<workspace>/...` under
IVYBT_HOME, anything else under a temporary project folder); a page written under pages/ is run with
Streamlit's AppTest and must show no exception.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
FILE = re.compile(r"# file: (\S+)\n")


def python_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def test_extending_examples_run(presets: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVYBT_WEBHOOK_URL", raising=False)
    blocks = python_blocks((DOCS / "extending.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "docs_extending"}
    pages = []
    for number, code in enumerate(blocks, 1):
        target = FILE.match(code)
        if target is None:
            # compiled as a script of its own: without this module's `from __future__ import annotations`, which
            # would leave a dataclass defined in a block unable to find its module
            exec(compile(code, f"docs/extending.md block {number}", "exec", dont_inherit=True), namespace)
            continue
        name = target.group(1)
        path = home / name.removeprefix("<workspace>/") if name.startswith("<workspace>/") else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
        if path.parent.name == "pages":
            pages.append(path)
    assert pages, "the page example was not found"
    for path in pages:
        at = AppTest.from_file(str(path), default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value and len(at.dataframe) == 1


def test_python_blocks_are_found_in_order() -> None:
    text = "intro\n```python\na = 1\n```\n\n```text\nnot code\n```\n```python\n# file: x.py\nb = 2\n```\n"
    assert python_blocks(text) == ["a = 1\n", "# file: x.py\nb = 2\n"]

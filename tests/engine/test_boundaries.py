"""The engine stays free of UI and broker SDK code (DESIGN §2: arrows only go down)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import engine

FORBIDDEN = ("streamlit", "alpaca", "ib_async", "ib_insync", "eventkit")
ENGINE_DIR = Path(engine.__file__).resolve().parent


def test_importing_every_engine_module_loads_no_ui_or_broker_sdk():
    modules = sorted(
        ".".join(p.relative_to(ENGINE_DIR.parent).with_suffix("").parts)
        for p in ENGINE_DIR.rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imported: {out.stdout.strip()}"


def test_no_engine_source_line_imports_ui_or_broker_code():
    pattern = re.compile(r"^\s*(import|from)\s+(streamlit|alpaca|ib_async|ib_insync|brokers|ui|pages)\b")
    offenders = [
        f"{p.relative_to(ENGINE_DIR.parent)}:{i}"
        for p in ENGINE_DIR.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.match(line)
    ]
    assert offenders == []

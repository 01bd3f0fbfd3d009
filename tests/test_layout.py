"""The layout rules of issue 13: engine/'s top level stays small (behaviour lives in folders named by job) and a
long module says why it is long."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_ENGINE_TOP_MODULES = 6
MAX_LINES = 450


def _tracked_python_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.splitlines() if (ROOT / line).is_file()]


def test_engine_top_level_holds_at_most_six_modules():
    modules = sorted(p.name for p in (ROOT / "engine").glob("*.py") if p.name != "__init__.py")
    assert len(modules) <= MAX_ENGINE_TOP_MODULES, f"engine/ top level: {modules}; move behaviour into a job folder"


def test_every_module_over_450_lines_says_why_in_its_first_five_lines():
    files = _tracked_python_files()
    assert len(files) > 100  # the scan sees the tree (git ls-files from the repository root)
    offenders = []
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_LINES and not any("Long because:" in line for line in lines[:5]):
            offenders.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert offenders == [], "split these by job or add a 'Long because: ...' line in the first five lines"

"""`brokers.ibkr.session.import_ib`: ib_async first, the archived ib_insync when only that is installed.

Each case runs in a fresh interpreter whose `sys.meta_path` starts with a finder that refuses the blocked
packages (as if they were not installed); a minimal fake `ib_insync` package in tmp_path stands in for the
real one (which declares Python <= 3.11 and is not installable here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

PROBE = r'''
import json
import sys


class Refuse:
    """A meta path finder that makes the named top-level packages look uninstalled."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


blocked = [n for n in sys.argv[1].split(",") if n]
sys.meta_path.insert(0, Refuse(blocked))
from brokers.ibkr.session import import_ib

try:
    module = import_ib()
except ImportError as e:
    context = e.__context__
    print(json.dumps({"error": type(e).__name__, "message": str(e), "name": e.name,
                      "context": getattr(context, "name", None)}))
else:
    print(json.dumps({"module": module.__name__, "file": module.__file__, "has_IB": hasattr(module, "IB"),
                      "ib_async_loaded": "ib_async" in sys.modules}))
'''

FAKE_IB_INSYNC = '''"""A stand-in for the archived ib_insync: only what the adapter looks up first."""
__version__ = "0.9.86-fake"


class IB:
    """The client class the adapter instantiates."""
'''


def probe(blocked: list[str], extra_path: Path | None = None) -> dict:
    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(extra_path) if extra_path else "", str(REPO)) if p)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(blocked)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def fake_ib_insync(tmp_path: Path) -> Path:
    package = tmp_path / "site" / "ib_insync"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_IB_INSYNC)
    return tmp_path / "site"


def test_ib_async_is_used_when_installed(fake_ib_insync: Path) -> None:
    out = probe([], fake_ib_insync)  # both importable: ib_async wins
    assert out["module"] == "ib_async" and out["has_IB"] is True
    assert Path(out["file"]).parent.name == "ib_async"


def test_falls_back_to_ib_insync_without_ib_async(fake_ib_insync: Path) -> None:
    out = probe(["ib_async"], fake_ib_insync)
    assert out["module"] == "ib_insync" and out["has_IB"] is True
    assert Path(out["file"]) == fake_ib_insync / "ib_insync" / "__init__.py"
    assert out["ib_async_loaded"] is False


def test_with_neither_installed_the_error_names_both_packages() -> None:
    out = probe(["ib_async", "ib_insync"])
    assert out["error"] == "ModuleNotFoundError"
    assert out["name"] == "ib_async" and out["context"] == "ib_insync"  # the chain says what was tried


def test_with_neither_installed_the_message_says_what_to_install() -> None:
    out = probe(["ib_async", "ib_insync"])
    assert "ib_async" in out["message"] and "install" in out["message"]

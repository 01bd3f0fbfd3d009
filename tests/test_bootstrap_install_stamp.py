"""scripts/bootstrap.sh's install stamp (issue 16 item 11): a dev install (`make test`) satisfies `make app`, so
the app does not reinstall everything after the tests; a changed pyproject.toml or a missing extra still
reinstalls. Runs the real script against a fake venv whose python only records how it was called."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HASH = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]


def _venv(tmp_path: Path, stamp: list[str]) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "ivybt"):
        script = venv / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{venv}/calls"\n')
        script.chmod(0o755)
    if stamp:
        (venv / ".ivybt-installed").write_text("".join(f"{line}\n" for line in stamp))
    return venv


def _bootstrap(venv: Path, *args: str) -> list[str]:
    env = {**os.environ, "IVYBT_VENV": str(venv)}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    calls = venv / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def _pip_installs(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("python -m pip install -e")]


def test_app_after_a_dev_install_runs_without_installing(tmp_path: Path) -> None:
    venv = _venv(tmp_path, [f"{HASH}-dev"])  # what `make test` leaves
    calls = _bootstrap(venv, "app")
    assert _pip_installs(calls) == []
    assert calls == ["ivybt app"]


@pytest.mark.parametrize(
    ("stamp", "args", "spec"),
    [
        ([f"{'0' * 16}-dev"], ("app",), "."),  # pyproject.toml changed since: reinstall
        ([f"{HASH}-"], ("install", "dev"), ".[dev]"),  # the app's install lacks the dev extra
        ([], ("app",), "."),  # never installed
        ([f"{HASH}-dev"], ("install", "dev,bench"), ".[dev,bench]"),  # one extra more
    ],
)
def test_a_changed_pyproject_or_a_missing_extra_reinstalls(tmp_path: Path, stamp, args, spec) -> None:
    venv = _venv(tmp_path, stamp)
    calls = _bootstrap(venv, *args)
    assert _pip_installs(calls) == [f"python -m pip install -e {spec}"]
    extras = spec[2:-1] if spec != "." else ""
    assert (venv / ".ivybt-installed").read_text().splitlines()[-1] == f"{HASH}-{extras}"
    assert _pip_installs(_bootstrap(venv, *args)) == [f"python -m pip install -e {spec}"]  # idempotent: not twice

"""A non-editable install finds its presets and sample data (issue 15 item 7): build the wheel, install it into a
fresh venv, and from a folder outside the repository run scripts/smoke_install.py there (a backtest on the bundled
sample, a shipped preset, the app's home page), the same smoke test the Docker image runs at build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "engine", "brokers", "ui", "presets")
"""What the Dockerfile copies before `pip install .`."""


def _copy_sources(dest: Path) -> None:
    """The package sources, without caches (the build writes build/ and *.egg-info into dest, not the checkout)."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.nbi", "*.nbc")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)


def _run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=900)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_wheel_install_finds_presets_sample_data_and_app(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _copy_sources(src)
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, ".", cwd=src)
    (wheel,) = dist.glob("ivybt-*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path).stdout.strip()
    )
    # the dependencies come from this environment (no network); IvyBT itself only from the wheel: a plain path
    # line does not run this environment's .pth files, so its editable IvyBT stays out of sight
    (site / "zz_ivybt_deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path
    )

    app_dir = tmp_path / "app"  # what the Dockerfile copies next to the installed packages
    app_dir.mkdir()
    shutil.copy2(ROOT / "app.py", app_dir / "app.py")
    shutil.copytree(ROOT / "pages", app_dir / "pages", ignore=shutil.ignore_patterns("__pycache__"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = _run(python, ROOT / "scripts" / "smoke_install.py", app_dir, cwd=outside)
    assert proc.stdout.startswith("smoke ok: engine from " + str(site / "engine")), proc.stdout
    assert "spy_trend" in proc.stdout

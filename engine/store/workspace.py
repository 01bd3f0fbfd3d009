"""Where IvyBT keeps the user's things: `./workspace` by default, `IVYBT_HOME` overrides (DESIGN §5).

Layout: ivybt.db (SQLite: runs, jobs, orders, audit, paper account), cache/ (Parquet bars), data/ (imported
symbols), artifacts/ (HTML reports), strategies/ (user strategy files), backups/ (copies of ivybt.db). Folders
are created on first use.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_ROOT.parent


def workspace_dir() -> Path:
    """The workspace folder (created if missing)."""
    path = Path(os.environ.get("IVYBT_HOME") or (Path.cwd() / "workspace")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sub(name: str) -> Path:
    path = workspace_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    """The workspace SQLite database file."""
    return workspace_dir() / "ivybt.db"


def cache_dir() -> Path:
    return _sub("cache")


def data_dir() -> Path:
    """Imported user data (validated Parquet, one file per symbol)."""
    return _sub("data")


def backups_dir() -> Path:
    """Database backups made by `ivybt workspace backup` without a path."""
    return _sub("backups")


def artifacts_dir() -> Path:
    return _sub("artifacts")


def strategies_dir() -> Path:
    """User strategy files (`*.py` defining Strategy subclasses) found by the registry."""
    return _sub("strategies")


SHIPPED_PRESETS = REPO_ROOT / "presets"
"""The example presets IvyBT ships: the project's presets/ folder in a checkout, the wheel's copy once installed."""


def source_checkout() -> bool:
    """Whether IvyBT runs from a source checkout (pyproject.toml beside the packages), not from an installed wheel."""
    return (REPO_ROOT / "pyproject.toml").is_file()


def presets_dir() -> Path:
    """Presets: `IVYBT_PRESETS` overrides; in a source checkout the project's `presets/` folder (the shipped examples
    live there); installed (`pip install .`, the Docker image) the workspace's `presets/`, which gets a copy of the
    shipped examples when it is first created (site-packages is no place to save presets in)."""
    env = os.environ.get("IVYBT_PRESETS")
    if env or source_checkout():
        path = Path(env).expanduser().resolve() if env else SHIPPED_PRESETS
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = workspace_dir() / "presets"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        for example in sorted(SHIPPED_PRESETS.glob("*.json")):
            shutil.copyfile(example, path / example.name)
    return path

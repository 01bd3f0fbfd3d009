"""Fixtures for the AppTest page tests: every test runs in its own workspace and presets folder (tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "workspace"
    monkeypatch.setenv("IVYBT_HOME", str(home))
    monkeypatch.setenv("IVYBT_PRESETS", str(tmp_path / "presets"))
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY", "IVYBT_LIVE"):
        monkeypatch.delenv(name, raising=False)
    return home

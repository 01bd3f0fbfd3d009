"""Fixtures every test folder shares: a private workspace, a private presets folder and no broker credentials,
so a test never reads or writes the developer's workspace, presets or accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

BROKER_ENV = (
    "ALPACA_API_KEY",
    "ALPACA_SECRET_KEY",
    "APCA_API_KEY_ID",
    "APCA_API_SECRET_KEY",
    "IVYBT_ALLOW_LIVE",
    "IVYBT_LIVE",
    "IVYBT_BROKER",
    "IBKR_HOST",
    "IBKR_PORT",
    "IBKR_CLIENT_ID",
    "IVYBT_ALPACA_TIMEOUT",
    "IVYBT_IBKR_TIMEOUT",
    "IVYBT_IBKR_OUTAGE_WAIT",
    "IVYBT_IBKR_PACING_WAIT",
    "IVYBT_PAPER_BORROW_BPS",
    "IVYBT_PAPER_MARGIN_RATE",
    "IVYBT_PAPER_CASH_RATE",
)
"""Environment variables that would point a test at a real broker account (or allow live orders), or change
how long an adapter waits or what the paper account charges."""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private workspace: IVYBT_HOME = tmp_path/"ws" (not created), the repository's presets (IVYBT_PRESETS unset)."""
    ws = tmp_path / "ws"
    monkeypatch.setenv("IVYBT_HOME", str(ws))
    monkeypatch.delenv("IVYBT_PRESETS", raising=False)
    return ws


@pytest.fixture
def presets(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private workspace and an empty private presets folder (IVYBT_PRESETS = tmp_path/"presets", not created)."""
    folder = tmp_path / "presets"
    monkeypatch.setenv("IVYBT_PRESETS", str(folder))
    return folder


@pytest.fixture
def no_broker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every BROKER_ENV variable (credentials, hosts, live switches) for the test."""
    for name in BROKER_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workspace(home: Path, presets: Path, no_broker_env: None) -> Path:
    """What the app's tests need: a private workspace and presets folder and no broker credentials; the workspace."""
    return home

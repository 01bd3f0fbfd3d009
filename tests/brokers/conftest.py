"""Shared fixtures of the broker tests: every test runs in its own workspace (IVYBT_HOME = tmp_path)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("IVYBT_HOME", str(tmp_path / "ws"))
    for var in ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "APCA_API_KEY_ID", "APCA_API_SECRET_KEY",
                "IVYBT_ALLOW_LIVE", "IVYBT_BROKER", "IBKR_HOST", "IBKR_PORT", "IBKR_CLIENT_ID"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def alpaca_fake():
    """A started FakeAlpacaServer (stopped after the test; it also stops itself after 60 s)."""
    from tests.brokers.fakes.alpaca_server import FakeAlpacaServer

    with FakeAlpacaServer() as fake:
        yield fake
